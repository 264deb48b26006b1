package envvars

import "strings"

// Expand replaces $(NAME) references in s the way Kubernetes does for
// command, args, env values and subPathExpr:
//
//   - $(NAME) becomes lookup(NAME) when lookup reports it as defined, and
//     stays literally "$(NAME)" otherwise;
//   - $$ is an escaped dollar and becomes a single "$" (so "$$(NAME)"
//     yields the literal "$(NAME)");
//   - a "$" followed by anything else, an unterminated "$(" and a trailing
//     "$" are kept as written.
func Expand(s string, lookup func(name string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; next {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				// No closing parenthesis: keep "$(" and scan on.
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
			b.WriteByte(next)
			i++
		}
	}
	return b.String()
}

// MapLookup returns a lookup function for Expand over maps searched in order.
func MapLookup(maps ...map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for _, m := range maps {
			if v, ok := m[name]; ok {
				return v, true
			}
		}
		return "", false
	}
}
