// Master and workers on SimGrid 3.32, the comparison in BENCHMARKS.md:
// the same workload as scenarios/master-workers.yaml. Workers pull: each
// asks the master for a task, receives its input over its own link, runs
// it and asks again; the master answers each request with a task until
// there are none left, then with a stop.
//
//   g++ -O2 -o masterworkers masterworkers.cpp -lsimgrid
//   ./platform.sh 100 > star100.xml
//   /usr/bin/time -v ./masterworkers star100.xml 100000 1e10 1e6 --cfg=network/model:CM02
#include <simgrid/s4u.hpp>
#include <cstdio>
#include <string>

namespace sg4 = simgrid::s4u;

static long tasks;
static double flops, input;

static void master(int workers)
{
  sg4::Mailbox* requests = sg4::Mailbox::by_name("master");
  long sent = 0;
  int stopped = 0;
  while (stopped < workers) {
    auto* who = requests->get<std::string>();
    sg4::Mailbox* to = sg4::Mailbox::by_name(*who);
    delete who;
    if (sent < tasks) {
      to->put_init(new double(flops), input)->detach();
      sent++;
    } else {
      to->put_init(new double(-1), 0)->detach();
      stopped++;
    }
  }
}

static void worker()
{
  const std::string name = sg4::this_actor::get_host()->get_name();
  sg4::Mailbox* requests = sg4::Mailbox::by_name("master");
  sg4::Mailbox* mine     = sg4::Mailbox::by_name(name);
  for (;;) {
    requests->put(new std::string(name), 0);
    auto* task = mine->get<double>();
    double f   = *task;
    delete task;
    if (f < 0)
      return;
    sg4::this_actor::execute(f);
  }
}

int main(int argc, char** argv)
{
  sg4::Engine e(&argc, argv);
  if (argc != 5) {
    fprintf(stderr, "usage: %s platform.xml tasks flops input_bytes\n", argv[0]);
    return 1;
  }
  e.load_platform(argv[1]);
  tasks = std::stol(argv[2]);
  flops = std::stod(argv[3]);
  input = std::stod(argv[4]);
  int workers = 0;
  for (auto* h : e.get_all_hosts()) {
    if (h->get_name() == "master") {
      sg4::Actor::create("master", h, [&workers] { master(workers); });
    } else {
      sg4::Actor::create("worker", h, worker);
      workers++;
    }
  }
  e.run();
  printf("tasks %ld workers %d makespan %.6f s\n", tasks, workers, sg4::Engine::get_clock());
  return 0;
}
