package textf_test

import (
	"go/ast"
	"go/constant"
	"go/types"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/santokit/santokit/"

// TestCallSites stands in for go vet's printf check, which does not know
// textf: every call in the module of textf.Sprintf/Errorf, or of a function
// that passes its own (format, args...) on to them (apierr.New, apierr.Wrap,
// filter's fail, …), has a constant format whose verbs textf supports, as
// many arguments as verbs, and arguments of a type textf renders for their
// verb. Named types are refused where textf's type switch would not see
// them (a named string without a String method, a named integer): fmt
// would print them through reflection, textf cannot.
func TestCallSites(t *testing.T) {
	if testing.Short() {
		t.Skip("loads and type-checks the whole module")
	}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
		packages.NeedTypes | packages.NeedTypesInfo, Dir: "../../.."}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("%s: %v", p.PkgPath, e)
		}
	}
	wrappers := findWrappers(pkgs)
	if len(wrappers) < 4 {
		t.Fatalf("found only %d formatting functions (textf.Sprintf, textf.Errorf, apierr.New, apierr.Wrap at least): %v", len(wrappers), wrappers)
	}
	errType := types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
	calls := 0
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				fn := callee(p.TypesInfo, call)
				if fn == nil || !wrappers[fn.FullName()] || call.Ellipsis.IsValid() {
					return true
				}
				calls++
				at := p.Fset.Position(call.Pos())
				fi := fn.Type().(*types.Signature).Params().Len() - 2
				tv := p.TypesInfo.Types[call.Args[fi]]
				if tv.Value == nil || tv.Value.Kind() != constant.String {
					t.Errorf("%s: %s's format is not a constant string", at, fn.Name())
					return true
				}
				args := call.Args[fi+1:]
				verbs, problem := verbsOf(constant.StringVal(tv.Value))
				if problem != "" {
					t.Errorf("%s: %s", at, problem)
					return true
				}
				if len(verbs) != len(args) {
					t.Errorf("%s: %d verbs for %d arguments", at, len(verbs), len(args))
					return true
				}
				for i, v := range verbs {
					typ := p.TypesInfo.TypeOf(args[i])
					if !supported(v, typ, errType) {
						t.Errorf("%s: %%%c of a %s: textf renders %%d for the predeclared integer types, %%s %%v %%q for string, error, Stringer and []byte, %%v also bool and integers", at, v, typ)
					}
				}
				return true
			})
		}
	}
	if calls < 100 {
		t.Errorf("checked only %d calls: the test no longer finds them", calls)
	}
}

// findWrappers returns textf's functions and, to a fixed point, every
// function of the module whose last parameters are (format string, args
// ...any) and that passes them on to one already found.
func findWrappers(pkgs []*packages.Package) map[string]bool {
	w := map[string]bool{module + "packages/core/textf.Sprintf": true, module + "packages/core/textf.Errorf": true}
	for grew := true; grew; {
		grew = false
		for _, p := range pkgs {
			for _, f := range p.Syntax {
				for _, d := range f.Decls {
					fd, ok := d.(*ast.FuncDecl)
					if !ok || fd.Body == nil {
						continue
					}
					obj, _ := p.TypesInfo.Defs[fd.Name].(*types.Func)
					if obj == nil || w[obj.FullName()] || !formatting(obj) {
						continue
					}
					ast.Inspect(fd.Body, func(n ast.Node) bool {
						if call, ok := n.(*ast.CallExpr); ok && call.Ellipsis.IsValid() {
							if fn := callee(p.TypesInfo, call); fn != nil && w[fn.FullName()] {
								w[obj.FullName()] = true
								grew = true
							}
						}
						return true
					})
				}
			}
		}
	}
	return w
}

// formatting reports whether fn ends with (format string, args ...any).
func formatting(fn *types.Func) bool {
	sig := fn.Type().(*types.Signature)
	ps := sig.Params()
	if !sig.Variadic() || ps.Len() < 2 {
		return false
	}
	f := ps.At(ps.Len() - 2)
	return f.Name() == "format" && types.Identical(f.Type(), types.Typ[types.String])
}

func callee(info *types.Info, call *ast.CallExpr) *types.Func {
	var id *ast.Ident
	switch fun := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = fun
	case *ast.SelectorExpr:
		id = fun.Sel
	default:
		return nil
	}
	fn, _ := info.Uses[id].(*types.Func)
	if fn == nil || fn.Pkg() == nil || !strings.HasPrefix(fn.Pkg().Path()+"/", module) {
		return nil
	}
	return fn
}

// verbsOf lists a format's verbs, refusing flags, widths and unknown verbs.
func verbsOf(format string) ([]byte, string) {
	var verbs []byte
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		if i == len(format) {
			return nil, "the format ends with %"
		}
		switch v := format[i]; v {
		case '%':
		case 's', 'v', 'q', 'd', 'w':
			verbs = append(verbs, v)
		default:
			return nil, "verb %" + string(v) + " (or a flag) that textf does not support"
		}
	}
	return verbs, ""
}

func supported(verb byte, typ types.Type, errType *types.Interface) bool {
	basic, isBasic := typ.(*types.Basic)
	integer := isBasic && basic.Info()&types.IsInteger != 0
	if verb == 'd' {
		return integer
	}
	if verb == 'w' {
		return types.Implements(typ, errType)
	}
	if verb == 'v' && (integer || isBasic && basic.Info()&types.IsBoolean != 0) {
		return true
	}
	if isBasic && basic.Info()&types.IsString != 0 {
		return true
	}
	if s, ok := typ.(*types.Slice); ok {
		if b, ok := s.Elem().(*types.Basic); ok && b.Kind() == types.Byte {
			return true
		}
	}
	if types.Implements(typ, errType) {
		return true
	}
	obj, _, _ := types.LookupFieldOrMethod(typ, false, nil, "String")
	m, ok := obj.(*types.Func)
	if !ok {
		return false
	}
	sig := m.Type().(*types.Signature)
	return sig.Params().Len() == 0 && sig.Results().Len() == 1 && types.Identical(sig.Results().At(0).Type(), types.Typ[types.String])
}
