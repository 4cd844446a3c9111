package audit

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// Report is the result of verifying a chain.
type Report struct {
	// Records is how many records were checked.
	Records int `json:"records"`
	// Chains lists the chains seen, with their last seq.
	Chains map[string]int64 `json:"chains"`
	// Ranges gives each chain's first and last verified seq.
	Ranges map[string]Range `json:"ranges"`
	// Anchored gives, per chain, the seq of the newest checkpoint the
	// chain was verified against: the chain provably reaches it.
	Anchored map[string]int64 `json:"anchored,omitempty"`
	// Broken is the first broken link, or nil when the chain is intact.
	Broken *Break `json:"broken,omitempty"`
}

// Range is the first and last seq of a verified chain.
type Range struct {
	First int64 `json:"first"`
	Last  int64 `json:"last"`
}

// VerifyOptions change what a verification accepts.
type VerifyOptions struct {
	// Checkpoints anchor chain heads (ReadCheckpoints): each record at a
	// checkpointed seq must match it, and a chain must reach its newest
	// checkpoint, which detects a cut tail.
	Checkpoints []Checkpoint
	// Partial accepts a chain whose first record is past seq 1 (its
	// older files were rotated away); otherwise such a chain is broken
	// unless a checkpoint anchors the record before it.
	Partial bool
}

func newReport() Report {
	return Report{Chains: map[string]int64{}, Ranges: map[string]Range{}}
}

// VerifyFiles checks JSON-lines audit files, read in the order given
// (oldest first) as one chain that must start at seq 1.
func VerifyFiles(paths ...string) (Report, error) { return VerifyFilesWith(VerifyOptions{}, paths...) }

// VerifyFilesWith is VerifyFiles with options.
func VerifyFilesWith(o VerifyOptions, paths ...string) (Report, error) {
	rep := newReport()
	v := &verifier{o: o, rep: &rep}
	if len(o.Checkpoints) > 0 {
		v.anchors = newAnchors(o.Checkpoints)
	}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return rep, err
		}
		err = v.read(f, path)
		f.Close()
		if err != nil || rep.Broken != nil {
			return rep, err
		}
	}
	v.finish()
	return rep, nil
}

// VerifyReader checks JSON lines from r; name labels positions.
func VerifyReader(r io.Reader, name string) (Report, error) {
	return VerifyReaderWith(VerifyOptions{}, r, name)
}

// VerifyReaderWith is VerifyReader with options.
func VerifyReaderWith(o VerifyOptions, r io.Reader, name string) (Report, error) {
	rep := newReport()
	v := &verifier{o: o, rep: &rep}
	if len(o.Checkpoints) > 0 {
		v.anchors = newAnchors(o.Checkpoints)
	}
	if err := v.read(r, name); err != nil || rep.Broken != nil {
		return rep, err
	}
	v.finish()
	return rep, nil
}

type verifier struct {
	o       VerifyOptions
	rep     *Report
	st      chainState
	anchors *anchors
	lastPos string
}

func (v *verifier) read(r io.Reader, name string) error {
	rep := v.rep
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		pos := fmt.Sprintf("%s:%d", name, line)
		f, err := checkLine(b)
		if err != nil {
			rep.Broken = &Break{Position: pos, Seq: f.Seq, Reason: err.Error()}
			return nil
		}
		if !v.st.started && f.Seq > 1 && !v.o.Partial && !v.anchors.continues(f) {
			rep.Broken = &Break{Position: pos, Seq: f.Seq, Reason: fmt.Sprintf("the chain starts at seq %d: the records before it are missing "+
				"(give the rotated predecessor files first, oldest first, or verify with --partial to check only from here)", f.Seq)}
			return nil
		}
		why := v.st.next(f)
		if why == "" {
			why = v.anchors.check(f)
		}
		if why != "" {
			rep.Broken = &Break{Position: pos, Seq: f.Seq, Reason: why}
			return nil
		}
		rep.Records++
		rep.Chains[f.Chain] = f.Seq
		rg, ok := rep.Ranges[f.Chain]
		if !ok {
			rg.First = f.Seq
		}
		rg.Last = f.Seq
		rep.Ranges[f.Chain] = rg
		v.lastPos = pos
	}
	return sc.Err()
}

// finish checks that every anchored chain reaches its newest checkpoint.
func (v *verifier) finish() {
	if v.anchors == nil || v.rep.Broken != nil {
		return
	}
	for chain, cp := range v.anchors.last {
		rg, ok := v.rep.Ranges[chain]
		if !ok || rg.Last < cp.Seq {
			v.rep.Broken = &Break{Position: cmp.Or(v.lastPos, "end of input"), Seq: rg.Last, Reason: fmt.Sprintf(
				"the chain was cut: a checkpoint signed at %s anchors seq %d of chain %q, but the records end at seq %d",
				cp.Time.Format(time.RFC3339), cp.Seq, chain, rg.Last)}
			return
		}
		if v.rep.Anchored == nil {
			v.rep.Anchored = map[string]int64{}
		}
		v.rep.Anchored[chain] = cp.Seq
	}
}

// VerifyPostgres checks every chain in table (or only chain when not
// empty). Each chain must start at seq 1.
func VerifyPostgres(ctx context.Context, conn *pgx.Conn, table, chain string) (Report, error) {
	rep := newReport()
	id, err := ParseTable(table)
	if err != nil {
		return rep, err
	}
	q := `SELECT chain, seq, prev_hash, hash, record FROM ` + id.Sanitize()
	var args []any
	if chain != "" {
		q += ` WHERE chain = $1`
		args = append(args, chain)
	}
	rows, err := conn.Query(ctx, q+` ORDER BY chain, seq`, args...)
	if err != nil {
		return rep, err
	}
	defer rows.Close()
	var st chainState
	for rows.Next() {
		var (
			colChain, colPrev, colHash, record string
			colSeq                             int64
		)
		if err := rows.Scan(&colChain, &colSeq, &colPrev, &colHash, &record); err != nil {
			return rep, err
		}
		pos := fmt.Sprintf("%s row chain=%s seq=%d", id.Sanitize(), colChain, colSeq)
		if st.started && colChain != st.chain {
			st = chainState{}
		}
		f, err := checkLine([]byte(record))
		switch {
		case err != nil:
			rep.Broken = &Break{Position: pos, Seq: colSeq, Reason: err.Error()}
		case f.Chain != colChain || f.Seq != colSeq || f.PrevHash != colPrev || f.Hash != colHash:
			rep.Broken = &Break{Position: pos, Seq: colSeq, Reason: "the row's columns do not match its record"}
		case !st.started && f.Seq != 1:
			rep.Broken = &Break{Position: pos, Seq: colSeq, Reason: "the chain does not start at seq 1: records were removed"}
		default:
			if why := st.next(f); why != "" {
				rep.Broken = &Break{Position: pos, Seq: colSeq, Reason: why}
			}
		}
		if rep.Broken != nil {
			return rep, nil
		}
		rep.Records++
		rep.Chains[f.Chain] = f.Seq
		rg, ok := rep.Ranges[f.Chain]
		if !ok {
			rg.First = f.Seq
		}
		rg.Last = f.Seq
		rep.Ranges[f.Chain] = rg
	}
	return rep, rows.Err()
}

// ReadFile reads the records of a JSON-lines audit file without checking
// them (VerifyFiles checks); for tools and tests that inspect records.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return out, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
