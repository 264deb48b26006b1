package envvars

import "testing"

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "a", "B": "b", "EMPTY": "", "X_Y": "xy"}
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"plain", "plain"},
		{"$(A)", "a"},
		{"$(A)-$(B)", "a-b"},
		{"pre$(A)post", "preapost"},
		{"$(EMPTY)|", "|"},
		{"$(X_Y)", "xy"},
		{"$(UNDEFINED)", "$(UNDEFINED)"},
		{"$(A)$(UNDEFINED)$(B)", "a$(UNDEFINED)b"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$a"},
		{"$$$$(A)", "$$(A)"},
		{"$$", "$"},
		{"a$$b", "a$b"},
		{"$", "$"},
		{"a$", "a$"},
		{"$A", "$A"},
		{"$a$(A)", "$aa"},
		{"$(", "$("},
		{"$(A", "$(A"},
		{"$(A$(B)", "$(A$(B)"},
		{"$()", "$()"},
		{"$(A))", "a)"},
		{"(A)", "(A)"},
		{"$(A) $(B)", "a b"},
		{"é$(A)é", "éaé"},
	}
	for _, tc := range tests {
		got := Expand(tc.in, MapLookup(vars))
		if got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMapLookupOrder(t *testing.T) {
	l := MapLookup(map[string]string{"A": "first"}, map[string]string{"A": "second", "B": "b"})
	if v, _ := l("A"); v != "first" {
		t.Errorf("A = %q, want first map to win", v)
	}
	if v, ok := l("B"); !ok || v != "b" {
		t.Errorf("B = %q %v, want b", v, ok)
	}
	if _, ok := l("C"); ok {
		t.Error("C should be undefined")
	}
}
