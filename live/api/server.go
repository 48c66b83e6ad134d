package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"connectrpc.com/connect"

	"github.com/dais-sim/dais/live/api/gen/daisv1"
	"github.com/dais-sim/dais/live/api/gen/daisv1/daisv1connect"
	"github.com/dais-sim/dais/protocol/chain"
)

// MaxRequestBytes bounds a request's encoded size: a job post or a
// payment is a few hundred bytes, an inference input a few hundred
// floats.
const MaxRequestBytes = 1 << 20

// Options tune a Server; the zero value is the default.
type Options struct {
	// Window is how far a request's signing time may be from the node's
	// clock (5 minutes if 0).
	Window time.Duration
	// Now is the clock (time.Now if nil); tests set it.
	Now func() time.Time
	// Observe, if set, is told every request's procedure and the code it
	// was answered with (connect.Code(0) for OK): a node counts the
	// refusals (unauthenticated, replayed, invalid, refused by the
	// ledger) in /metrics.
	Observe func(procedure string, code connect.Code)
}

// Server serves the API over a Backend. It is safe for concurrent use.
type Server struct {
	b       Backend
	v       *Verifier
	observe func(string, connect.Code)
}

var _ daisv1connect.NodeServiceHandler = (*Server)(nil)

// NewServer returns a server over b.
func NewServer(b Backend, opt Options) *Server {
	return &Server{b: b, v: &Verifier{Window: opt.Window, Now: opt.Now}, observe: opt.Observe}
}

// Handler returns the path prefix and handler to mount on an HTTP mux.
// Requests larger than MaxRequestBytes are refused before decoding.
func (s *Server) Handler() (string, http.Handler) {
	opts := []connect.HandlerOption{connect.WithReadMaxBytes(MaxRequestBytes)}
	if s.observe != nil {
		opts = append(opts, connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				if seen, ok := ctx.Value(seenKey{}).(*bool); ok {
					*seen = true
				}
				res, err := next(ctx, req)
				var code connect.Code
				if err != nil {
					code = connect.CodeOf(err)
				}
				s.observe(req.Spec().Procedure, code)
				return res, err
			}
		})))
	}
	path, h := daisv1connect.NewNodeServiceHandler(s, opts...)
	if s.observe == nil {
		return path, h
	}
	return path, s.countRefusals(h)
}

// seenKey marks, in a request's context, that the interceptor counted it.
type seenKey struct{}

// countRefusals counts what connect refuses before the interceptor runs
// (a body over MaxRequestBytes, one that does not decode, a wrong content
// type, an unknown procedure): an HTTP status other than 200, or a gRPC
// status in the trailers. Procedures outside the schema count as
// "unknown", so a caller cannot grow the label set.
func (s *Server) countRefusals(h http.Handler) http.Handler {
	known := map[string]bool{}
	ms := daisv1.File_dais_v1_node_proto.Services().ByName("NodeService").Methods()
	for i := range ms.Len() {
		known["/"+daisv1connect.NodeServiceName+"/"+string(ms.Get(i).Name())] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen := new(bool)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), seenKey{}, seen)))
		if *seen {
			return
		}
		proc := r.URL.Path
		if !known[proc] {
			proc = "unknown"
		}
		code := connect.CodeUnknown
		switch {
		case sw.status == http.StatusNotFound:
			code = connect.CodeUnimplemented
		case sw.status == http.StatusRequestEntityTooLarge || sw.status == http.StatusTooManyRequests:
			code = connect.CodeResourceExhausted
		case sw.status != http.StatusOK:
			code = connect.CodeInvalidArgument
		default:
			if n, err := strconv.Atoi(w.Header().Get("Grpc-Status")); err == nil && n > 0 {
				code = connect.Code(n)
			}
		}
		s.observe(proc, code)
	})
}

// statusWriter notes the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Flush lets streaming protocols (gRPC) flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// auth checks a request's Auth for its procedure.
func auth[T any](s *Server, req *connect.Request[T]) (chain.Address, error) {
	m, ok := any(req.Msg).(Authed)
	if !ok {
		return chain.Address{}, connect.NewError(connect.CodeInternal, errors.New("api: request type has no auth"))
	}
	addr, err := s.v.Verify(req.Spec().Procedure, m)
	if err != nil {
		return chain.Address{}, connect.NewError(connect.CodeUnauthenticated, err)
	}
	return addr, nil
}

// status maps a backend error to an RPC error with the backend's message.
func status(err error) error {
	var code connect.Code
	switch {
	case errors.Is(err, ErrNotFound):
		code = connect.CodeNotFound
	case errors.Is(err, ErrRefused):
		code = connect.CodeFailedPrecondition
	case errors.Is(err, ErrUnavailable):
		code = connect.CodeUnavailable
	case errors.Is(err, context.Canceled):
		code = connect.CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		code = connect.CodeDeadlineExceeded
	default:
		code = connect.CodeInternal
	}
	return connect.NewError(code, err)
}

func invalid(format string, a ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("api: "+format, a...))
}

// fixed copies b into a fixed-size array field, or says its size is wrong.
func fixed(field string, b []byte, dst []byte) error {
	if len(b) != len(dst) {
		return invalid("%s has %d bytes, want %d", field, len(b), len(dst))
	}
	copy(dst, b)
	return nil
}

// decodeTx reads a signed transaction sent by asker.
func decodeTx(field string, b []byte, asker chain.Address, want chain.TxType) (*chain.Tx, error) {
	if len(b) == 0 {
		return nil, invalid("%s is empty: want a signed %s transaction", field, want)
	}
	tx, err := chain.DecodeTx(b)
	if err != nil {
		return nil, invalid("%s: %v", field, err)
	}
	if tx.Type != want {
		return nil, invalid("%s is a %s transaction, want %s", field, tx.Type, want)
	}
	if tx.From() != asker {
		return nil, connect.NewError(connect.CodePermissionDenied, fmt.Errorf("api: %s is sent by %s, not by the asker %s", field, tx.From(), asker))
	}
	return tx, nil
}

// GetAccount implements daisv1connect.NodeServiceHandler.
func (s *Server) GetAccount(_ context.Context, req *connect.Request[daisv1.GetAccountRequest]) (*connect.Response[daisv1.GetAccountResponse], error) {
	asker, err := auth(s, req)
	if err != nil {
		return nil, err
	}
	addr := asker
	if len(req.Msg.Address) > 0 {
		if err := fixed("address", req.Msg.Address, addr[:]); err != nil {
			return nil, err
		}
	}
	a, err := s.b.Account(addr)
	if err != nil {
		return nil, status(err)
	}
	return connect.NewResponse(&daisv1.GetAccountResponse{Address: a.Address[:], Balance: a.Balance, Stake: a.Stake, NextNonce: a.NextNonce, Height: a.Height}), nil
}

// GetFees implements daisv1connect.NodeServiceHandler.
func (s *Server) GetFees(_ context.Context, req *connect.Request[daisv1.GetFeesRequest]) (*connect.Response[daisv1.GetFeesResponse], error) {
	if _, err := auth(s, req); err != nil {
		return nil, err
	}
	p := s.b.Params()
	base := map[string]uint64{}
	for t := chain.TxTransfer; t.Valid(); t++ {
		if t != chain.TxReward {
			base[t.String()] = p.Gas.Base[t]
		}
	}
	return connect.NewResponse(&daisv1.GetFeesResponse{MinGasPrice: p.MinGasPrice, GasPerByte: p.Gas.PerByte, BaseGas: base}), nil
}

// SubmitJob implements daisv1connect.NodeServiceHandler.
func (s *Server) SubmitJob(_ context.Context, req *connect.Request[daisv1.SubmitJobRequest]) (*connect.Response[daisv1.SubmitJobResponse], error) {
	asker, err := auth(s, req)
	if err != nil {
		return nil, err
	}
	tx, err := decodeTx("tx", req.Msg.Tx, asker, chain.TxJobPost)
	if err != nil {
		return nil, err
	}
	if err := s.b.Submit(tx); err != nil {
		return nil, status(err)
	}
	id := chain.JobIDFor(asker, tx.Nonce)
	h := tx.Hash()
	return connect.NewResponse(&daisv1.SubmitJobResponse{JobId: id[:], TxHash: h[:]}), nil
}

// GetJob implements daisv1connect.NodeServiceHandler.
func (s *Server) GetJob(_ context.Context, req *connect.Request[daisv1.GetJobRequest]) (*connect.Response[daisv1.GetJobResponse], error) {
	if _, err := auth(s, req); err != nil {
		return nil, err
	}
	var id chain.JobID
	if err := fixed("job_id", req.Msg.JobId, id[:]); err != nil {
		return nil, err
	}
	j, err := s.b.Job(id)
	if err != nil {
		return nil, status(err)
	}
	return connect.NewResponse(jobMsg(j)), nil
}

func jobMsg(j Job) *daisv1.GetJobResponse {
	return &daisv1.GetJobResponse{JobId: j.ID[:], State: daisv1.JobState(j.State), Poster: j.Poster[:], Budget: j.Budget,
		Units: j.Units, UnitsAssigned: j.Assigned, UnitsComputed: j.Computed, UnitsVerified: j.Verified,
		Paid: j.Paid, Refunded: j.Refunded, PostedHeight: j.PostedHeight, SettledHeight: j.SettledHeight}
}

// GetJobResult implements daisv1connect.NodeServiceHandler.
func (s *Server) GetJobResult(_ context.Context, req *connect.Request[daisv1.GetJobResultRequest]) (*connect.Response[daisv1.GetJobResultResponse], error) {
	asker, err := auth(s, req)
	if err != nil {
		return nil, err
	}
	var id chain.JobID
	if err := fixed("job_id", req.Msg.JobId, id[:]); err != nil {
		return nil, err
	}
	j, err := s.b.Job(id)
	if err != nil {
		return nil, status(err)
	}
	if j.Poster != asker {
		return nil, connect.NewError(connect.CodePermissionDenied, fmt.Errorf("api: job %x was posted by %s; only its poster may fetch its results", id, j.Poster))
	}
	units, err := s.b.Results(id)
	if err != nil {
		return nil, status(err)
	}
	out := &daisv1.GetJobResultResponse{JobId: id[:], State: daisv1.JobState(j.State)}
	for _, u := range units {
		out.Units = append(out.Units, &daisv1.UnitResult{Unit: u.Unit, Commitment: u.Commitment[:], Output: u.Output, Provider: u.Provider[:]})
	}
	return connect.NewResponse(out), nil
}

// ListModelVersions implements daisv1connect.NodeServiceHandler.
func (s *Server) ListModelVersions(_ context.Context, req *connect.Request[daisv1.ListModelVersionsRequest]) (*connect.Response[daisv1.ListModelVersionsResponse], error) {
	if _, err := auth(s, req); err != nil {
		return nil, err
	}
	out := &daisv1.ListModelVersionsResponse{}
	for _, v := range s.b.ModelVersions() {
		mv := &daisv1.ModelVersion{Hash: v.Hash[:], Round: v.Round, TestAccuracy: v.TestAccuracy, Price: v.Price,
			Model: v.Model, Inputs: v.Inputs, Provider: v.Provider[:]}
		if v.Parent != ([32]byte{}) {
			mv.Parent = v.Parent[:]
		}
		out.Versions = append(out.Versions, mv)
	}
	return connect.NewResponse(out), nil
}

// Infer implements daisv1connect.NodeServiceHandler.
func (s *Server) Infer(ctx context.Context, req *connect.Request[daisv1.InferRequest]) (*connect.Response[daisv1.InferResponse], error) {
	asker, err := auth(s, req)
	if err != nil {
		return nil, err
	}
	var version [32]byte
	if err := fixed("version", req.Msg.Version, version[:]); err != nil {
		return nil, err
	}
	if len(req.Msg.Input) == 0 {
		return nil, invalid("input is empty")
	}
	var pay *chain.Tx
	if len(req.Msg.PaymentTx) > 0 {
		if pay, err = decodeTx("payment_tx", req.Msg.PaymentTx, asker, chain.TxTransfer); err != nil {
			return nil, err
		}
	}
	res, err := s.b.Infer(ctx, asker, version, req.Msg.Input, pay)
	if err != nil {
		return nil, status(err)
	}
	return connect.NewResponse(&daisv1.InferResponse{Class: res.Class, Probabilities: res.Probabilities, Provider: res.Provider[:], PaymentTxHash: res.Payment[:]}), nil
}
