package chain

import (
	"errors"
	"testing"
)

func vh(b byte) Hash { return Hash{b, 1} }

// A job's versions form a tree the ledger checks: a root first, then
// children of versions it holds; a made-up parent, a second root, a
// repeated version, a non-settler and a paid version without a price are
// refused. Lineage walks a head back to the root.
func TestVersionParents(t *testing.T) {
	n := settlerNet(t)
	l := n.ledgers[0]
	job := postJob(t, n, 1_000_000)
	commit := func(v VersionCommit) error { return n.submit(n.sign(3, NewVersionCommit(n.nonce(3), fee, v))) }

	if err := commit(VersionCommit{Job: job, Unit: 1, Version: vh(2), Parent: vh(1)}); !errors.Is(err, ErrVersionParent) {
		t.Errorf("child before its parent: %v", err)
	}
	if err := commit(VersionCommit{Job: job, Version: vh(1)}); err != nil {
		t.Fatal(err)
	}
	n.step(2)
	for _, c := range []struct {
		v    VersionCommit
		want error
	}{
		{VersionCommit{Job: job, Version: vh(9)}, ErrVersionParent},                         // a second root
		{VersionCommit{Job: job, Unit: 1, Version: vh(2), Parent: vh(7)}, ErrVersionParent}, // unknown parent
		{VersionCommit{Job: job, Unit: 1, Version: vh(1), Parent: vh(1)}, ErrDuplicate},     // the same version again
		{VersionCommit{Job: JobID{1}, Version: vh(5)}, ErrUnknownJob},
		{VersionCommit{Job: job, Unit: 1, Version: vh(2), Parent: vh(1), Access: AccessPaid}, ErrBadTx}, // paid, no price
		{VersionCommit{Job: job, Unit: 1, Version: vh(2), Parent: vh(1), Price: 5}, ErrBadTx},           // open with a price
		{VersionCommit{Job: job, Unit: 1, Parent: vh(1)}, ErrBadTx},                                     // zero version
	} {
		if err := commit(c.v); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.v, err, c.want)
		}
	}
	if err := n.submit(n.sign(1, NewVersionCommit(n.nonce(1), fee, VersionCommit{Job: job, Unit: 1, Version: vh(2), Parent: vh(1)}))); !errors.Is(err, ErrBadTx) {
		t.Errorf("a non-settler committed a version: %v", err)
	}
	// A branch: 2 and 3 are both children of 1; 4 of 3.
	for _, v := range []VersionCommit{{Job: job, Unit: 1, Version: vh(2), Parent: vh(1)}, {Job: job, Unit: 1, Version: vh(3), Parent: vh(1)}} {
		if err := commit(v); err != nil {
			t.Fatal(err)
		}
	}
	n.step(2)
	if err := commit(VersionCommit{Job: job, Unit: 2, Version: vh(4), Parent: vh(3), Access: AccessPaid, Price: 700}); err != nil {
		t.Fatal(err)
	}
	n.step(2)
	lin, err := l.Lineage(job, vh(4))
	if err != nil {
		t.Fatal(err)
	}
	if len(lin) != 3 || lin[0].Version != vh(1) || lin[1].Version != vh(3) || lin[2].Version != vh(4) {
		t.Errorf("lineage of 4: %+v", lin)
	}
	if _, err := l.Lineage(job, vh(8)); !errors.Is(err, ErrVersionParent) {
		t.Errorf("lineage of an unknown head: %v", err)
	}
	if vs := l.Versions(job); len(vs) != 4 || vs[0].Version != vh(1) || vs[3].Version != vh(4) {
		t.Errorf("versions %+v", vs)
	}
}

// Using a paid version pays its price into the open job's escrow, and to
// the poster once the job is closed; an open version costs only the fee;
// uses are counted; tokens are conserved throughout (net.step checks).
func TestVersionUse(t *testing.T) {
	n := settlerNet(t)
	l := n.ledgers[0]
	job := postJob(t, n, 1_000_000)
	mustAdd(t, n, n.sign(3, NewVersionCommit(n.nonce(3), fee, VersionCommit{Job: job, Version: vh(1)})))
	mustAdd(t, n, n.sign(3, NewVersionCommit(n.nonce(3), fee, VersionCommit{Job: job, Unit: 1, Version: vh(2), Parent: vh(1), Access: AccessPaid, Price: 700})))
	n.step(2)
	user := l.Account(n.addrs[1]).Balance
	mustAdd(t, n, n.sign(1, NewUse(n.nonce(1), fee, job, vh(2))))
	mustAdd(t, n, n.sign(1, NewUse(n.nonce(1), fee, job, vh(2))))
	mustAdd(t, n, n.sign(1, NewUse(n.nonce(1), fee, job, vh(1))))
	n.step(2)
	if j, _ := l.Job(job); j.Escrow != 1_000_000+1400 {
		t.Errorf("escrow %d after two paid uses", j.Escrow)
	}
	if got := user - l.Account(n.addrs[1]).Balance; got != 3*fee+1400 {
		t.Errorf("user paid %d", got)
	}
	if v, _ := l.Version(job, vh(2)); v.Uses != 2 || v.Paid != 1400 {
		t.Errorf("paid version: %+v", v)
	}
	if v, _ := l.Version(job, vh(1)); v.Uses != 1 || v.Paid != 0 {
		t.Errorf("open version: %+v", v)
	}
	if err := l.AddTx(n.sign(1, NewUse(n.nonce(1), fee, job, vh(9)))); !errors.Is(err, ErrVersionParent) {
		t.Errorf("use of an unknown version: %v", err)
	}
	mustAdd(t, n, n.sign(3, NewSettle(n.nonce(3), fee, Release{Job: job, Close: true})))
	n.step(2)
	poster := l.Account(n.addrs[0]).Balance
	mustAdd(t, n, n.sign(1, NewUse(n.nonce(1), fee, job, vh(2))))
	n.step(2)
	if got := l.Account(n.addrs[0]).Balance - poster; got != 700 {
		t.Errorf("poster got %d from a use of a closed job's version", got)
	}
	if j, _ := l.Job(job); j.Escrow != 0 {
		t.Errorf("closed job's escrow %d", j.Escrow)
	}
}

func TestVersionTxRoundTrip(t *testing.T) {
	tx := Sign(KeyFor(testSeed, 3), NewVersionCommit(4, 9, VersionCommit{Job: JobID{7}, Unit: 3, Version: vh(5), Parent: vh(4), Access: AccessPaid, Price: 11}))
	got, err := DecodeTx(tx.Encoded())
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := got.Body().(VersionCommit); !ok || b.Price != 11 || b.Parent != vh(4) || got.Type.String() != "version" {
		t.Errorf("decoded %+v (%s)", got.Body(), got.Type)
	}
	u := Sign(KeyFor(testSeed, 1), NewUse(0, 9, JobID{7}, vh(5)))
	if got, err := DecodeTx(u.Encoded()); err != nil || got.Body().(Use).Version != vh(5) || got.Type.String() != "use" {
		t.Errorf("use: %v %+v", err, got)
	}
}
