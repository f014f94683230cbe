package control

import mp "github.com/plugvisor/plugvisor/internal/msgpack"

// The opt forms leave out zero values, as omitempty does.

func optStr(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	return mp.AppendKeyString(b, k, v)
}

func optUint(b []byte, k string, v uint64) []byte {
	if v == 0 {
		return b
	}
	return mp.AppendKeyUint(b, k, v)
}

func optInt(b []byte, k string, v int64) []byte {
	if v == 0 {
		return b
	}
	return mp.AppendKeyInt(b, k, v)
}

func count(conds ...bool) int {
	n := 0
	for _, c := range conds {
		if c {
			n++
		}
	}
	return n
}
