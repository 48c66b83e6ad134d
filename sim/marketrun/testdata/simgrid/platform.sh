#!/bin/sh
# A star of N workers (H100 at half its FP16 peak, 494.7 TFLOP/s, as
# dais's duration model runs them) each on its own 1 Gbit/s link, and a
# master on a hub link too fast to matter; no latency anywhere.
n=${1:-100}
echo '<?xml version="1.0"?>'
echo '<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">'
echo '<platform version="4.1"><zone id="star" routing="Full">'
echo '  <host id="master" speed="1Gf"/>'
echo '  <link id="hub" bandwidth="100Tbps" latency="0"/>'
i=0
while [ $i -lt $n ]; do
  echo "  <host id=\"w$i\" speed=\"494.7Tf\"/><link id=\"l$i\" bandwidth=\"1Gbps\" latency=\"0\"/>"
  i=$((i+1))
done
i=0
while [ $i -lt $n ]; do
  echo "  <route src=\"master\" dst=\"w$i\"><link_ctn id=\"hub\"/><link_ctn id=\"l$i\"/></route>"
  i=$((i+1))
done
echo '</zone></platform>'
