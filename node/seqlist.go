package node

import (
	"encoding/json"
	"fmt"
)

// seqList is a list of event counters stored as runs: [[first, last], …].
// channelMeta.Branch lists our events since the last commit — consecutive
// counters in the common case — and the metadata is written with every
// step but flights of posts (channelMeta.BranchNext), so a flat list made
// those steps cost O(sends since the last commit) in JSON and in bytes
// written. It reads the flat form ([1, 2, 3]) that earlier versions wrote.
type seqList []uint64

// MarshalJSON encodes the list as runs of consecutive counters.
func (l seqList) MarshalJSON() ([]byte, error) {
	runs := make([][2]uint64, 0, 1)
	for i, v := range l {
		if k := len(runs) - 1; i > 0 && k >= 0 && runs[k][1]+1 == v {
			runs[k][1] = v
			continue
		}
		runs = append(runs, [2]uint64{v, v})
	}
	return json.Marshal(runs)
}

// maxSeqList bounds how many counters a decoded list may expand to.
const maxSeqList = 1 << 22

// UnmarshalJSON decodes runs, or the flat form.
func (l *seqList) UnmarshalJSON(b []byte) error {
	var flat []uint64
	if err := json.Unmarshal(b, &flat); err == nil {
		*l = flat
		return nil
	}
	var runs [][]uint64
	if err := json.Unmarshal(b, &runs); err != nil {
		return fmt.Errorf("node: event counter list: %w", err)
	}
	var out seqList
	for _, r := range runs {
		if len(r) != 2 {
			return fmt.Errorf("node: event counter list: a run of %d values", len(r))
		}
		if r[1] < r[0] || r[1]-r[0] >= maxSeqList || uint64(len(out))+r[1]-r[0] >= maxSeqList {
			return fmt.Errorf("node: event counter list: bad run [%d, %d]", r[0], r[1])
		}
		for v := r[0]; ; v++ {
			out = append(out, v)
			if v == r[1] {
				break
			}
		}
	}
	*l = out
	return nil
}
