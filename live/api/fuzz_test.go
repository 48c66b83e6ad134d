package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/live/api/gen/daisv1"
	"github.com/dais-sim/dais/live/api/gen/daisv1/daisv1connect"
	"github.com/dais-sim/dais/protocol/chain"
)

var procedures = []string{
	daisv1connect.NodeServiceGetAccountProcedure, daisv1connect.NodeServiceGetFeesProcedure,
	daisv1connect.NodeServiceSubmitJobProcedure, daisv1connect.NodeServiceGetJobProcedure,
	daisv1connect.NodeServiceGetJobResultProcedure, daisv1connect.NodeServiceListModelVersionsProcedure,
	daisv1connect.NodeServiceInferProcedure,
}

// FuzzRequest sends arbitrary bodies to every method, as protobuf and as
// JSON: the server answers every one with an error code (never a panic, a
// 500 or a hang), and nothing without a valid signature reaches the
// backend.
func FuzzRequest(f *testing.F) {
	alice := key(1)
	for _, m := range []api.Authed{&daisv1.GetJobRequest{JobId: make([]byte, 16)}, &daisv1.SubmitJobRequest{Tx: []byte{1, 2, 3}},
		&daisv1.InferRequest{Version: make([]byte, 32), Input: []float32{1, 2}}} {
		if err := api.SignRequest(alice, daisv1connect.NodeServiceGetJobProcedure, time.Now(), m); err != nil {
			f.Fatal(err)
		}
		b, _ := proto.Marshal(m)
		f.Add(uint8(0), false, b) // signed for GetJob, sent to GetAccount
	}
	f.Add(uint8(0), true, []byte(`{"auth": {"publicKey": "AAAA", "signature": "AAAA"}, "address": "AAAA"}`))
	f.Add(uint8(6), true, []byte(`{"input": [1e400, "NaN"], "version": 7}`))
	b := newLedgerBackend(f, chain.Account{Address: chain.AddressOf(alice), Balance: chain.Token})
	mux := http.NewServeMux()
	mux.Handle(api.NewServer(b, api.Options{}).Handler())
	f.Fuzz(func(t *testing.T, which uint8, json bool, body []byte) {
		ct := "application/proto"
		if json {
			ct = "application/json"
		}
		req := httptest.NewRequest(http.MethodPost, procedures[int(which)%len(procedures)], bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK || rec.Code >= 500 {
			t.Errorf("%s (%s) answered %d: %s", procedures[int(which)%len(procedures)], ct, rec.Code, rec.Body.String())
		}
		if b.calls != 0 {
			t.Errorf("an unauthenticated request reached the backend")
		}
	})
}
