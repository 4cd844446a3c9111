package audit

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/jackc/pgx/v5"
)

// Report is the result of verifying a chain.
type Report struct {
	// Records is how many records were checked.
	Records int `json:"records"`
	// Chains lists the chains seen, with their last seq.
	Chains map[string]int64 `json:"chains"`
	// Broken is the first broken link, or nil when the chain is intact.
	Broken *Break `json:"broken,omitempty"`
}

// VerifyFiles checks JSON-lines audit files, read in the order given
// (oldest first) as one chain. The first record may continue an earlier
// chain (its prev_hash is taken as given); every later record must link
// to the one before it.
func VerifyFiles(paths ...string) (Report, error) {
	rep := Report{Chains: map[string]int64{}}
	var st chainState
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return rep, err
		}
		err = verifyReader(f, path, &st, &rep)
		f.Close()
		if err != nil || rep.Broken != nil {
			return rep, err
		}
	}
	return rep, nil
}

// VerifyReader checks JSON lines from r; name labels positions.
func VerifyReader(r io.Reader, name string) (Report, error) {
	rep := Report{Chains: map[string]int64{}}
	var st chainState
	err := verifyReader(r, name, &st, &rep)
	return rep, err
}

func verifyReader(r io.Reader, name string, st *chainState, rep *Report) error {
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
		if why := st.next(f); why != "" {
			rep.Broken = &Break{Position: pos, Seq: f.Seq, Reason: why}
			return nil
		}
		rep.Records++
		rep.Chains[f.Chain] = f.Seq
	}
	return sc.Err()
}

// VerifyPostgres checks every chain in table (or only chain when not
// empty). Each chain must start at seq 1.
func VerifyPostgres(ctx context.Context, conn *pgx.Conn, table, chain string) (Report, error) {
	rep := Report{Chains: map[string]int64{}}
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
	}
	return rep, rows.Err()
}
