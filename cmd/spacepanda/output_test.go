package main

import "testing"

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello, world", "hello, world"},
		{"tab\tstays", "tab\tstays"},
		{"émoji 🐼 ok", "émoji 🐼 ok"},
		{"\x1b[2Jcleared", `\x1b[2Jcleared`},
		{"line\nbob: fake", `line\x0abob: fake`},
		{"ret\rurn", `ret\x0durn`},
		{"osc\x1b]52;c;aGk=\x07", `osc\x1b]52;c;aGk=\x07`},
		{"c1\u009bcsi", `c1\x9bcsi`},
		{"rtl\u202eevil", `rtl\u202eevil`},
	}
	for _, tt := range tests {
		if got := clean(tt.in); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
