package textf_test

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/santokit/santokit/"

// TestCallSites stands in for go vet's printf check, which does not know
// textf: every call in the module of textf.Sprintf/Errorf, or of a function
// that passes its own (format, args...) on to them (apierr.New, apierr.Wrap,
// filter's fail, a closure such as logic's fail, …), has a constant format
// whose verbs textf supports, as many arguments as verbs, and arguments of
// a type textf renders for their verb. Named types are refused where
// textf's type switch would not see them (a named string without a String
// method, a named integer): fmt would print them through reflection, textf
// cannot. Calls the check cannot see through are refused too: a formatting
// function used as a value, and args... passed on by a function that is
// not itself a formatting function.
func TestCallSites(t *testing.T) {
	pkgs := load(t, "./...")
	problems, wrappers, calls := checkCalls(pkgs)
	for _, p := range problems {
		t.Error(p)
	}
	if len(wrappers) < 4 {
		t.Fatalf("found only %d formatting functions (textf.Sprintf, textf.Errorf, apierr.New, apierr.Wrap at least): %v", len(wrappers), wrappers)
	}
	if calls < 100 {
		t.Errorf("checked only %d calls: the test no longer finds them", calls)
	}
}

// TestCallSitesSeesThrough: the check finds the mistakes of
// testdata/calls, each made through a way of calling that a check of
// declared functions named "format" alone would miss (#16 review).
func TestCallSitesSeesThrough(t *testing.T) {
	problems, _, _ := checkCalls(load(t, "./packages/core/textf/testdata/calls", "./packages/core/textf", "./packages/core/apierr"))
	want := []string{
		"calls.go:18:", // a closure wrapper: %d of a string
		"calls.go:27:", // a wrapper whose format parameter is named msg: %d of a string
		"calls.go:31:", // a formatting function used as a value
		"calls.go:36:", // args... from a function that is no formatting function
		"calls.go:41:", // a closure whose format parameter is named f: 1 verb, 2 arguments
		"calls.go:51:", // a parameter that is passed a formatting function: %d of a string
		"calls.go:55:", // %v of a []byte: fmt writes its numbers, textf its text
	}
	for _, w := range want {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "/"+w) }) {
			t.Errorf("no problem reported at %s; got:\n%s", w, strings.Join(problems, "\n"))
		}
	}
	if len(problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(problems), len(want), strings.Join(problems, "\n"))
	}
}

func load(t *testing.T, patterns ...string) []*packages.Package {
	t.Helper()
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
		packages.NeedTypes | packages.NeedTypesInfo, Dir: "../../.."}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("%s: %v", p.PkgPath, e)
		}
	}
	return pkgs
}

// checkCalls checks every call of a formatting function in pkgs and returns
// the problems found, the formatting functions and the number of calls.
func checkCalls(pkgs []*packages.Package) (problems []string, wrappers map[string]bool, calls int) {
	wrappers, forwards := findWrappers(pkgs)
	errType := types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
	for _, p := range pkgs {
		problem := func(pos token.Pos, msg string) {
			problems = append(problems, p.Fset.Position(pos).String()+": "+msg)
		}
		called := map[*ast.Ident]bool{}
		for _, f := range p.Syntax {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				id := calleeIdent(call)
				if id == nil {
					return true
				}
				called[id] = true
				key, fn := callee(p, id)
				if !wrappers[key] {
					return true
				}
				if call.Ellipsis.IsValid() {
					if !forwards[p.Fset.Position(call.Pos()).String()] {
						problem(call.Pos(), id.Name+" gets args...: only a formatting function (…, format string, args ...any) may pass its own on, else the format cannot be checked")
					}
					return true
				}
				calls++
				fi := fn.Params().Len() - 2
				tv := p.TypesInfo.Types[call.Args[fi]]
				if tv.Value == nil || tv.Value.Kind() != constant.String {
					problem(call.Pos(), id.Name+"'s format is not a constant string")
					return true
				}
				args := call.Args[fi+1:]
				verbs, bad := verbsOf(constant.StringVal(tv.Value))
				if bad != "" {
					problem(call.Pos(), bad)
					return true
				}
				if len(verbs) != len(args) {
					problem(call.Pos(), strconv.Itoa(len(verbs))+" verbs for "+strconv.Itoa(len(args))+" arguments")
					return true
				}
				for i, v := range verbs {
					typ := p.TypesInfo.TypeOf(args[i])
					if !supported(v, typ, errType) {
						problem(call.Pos(), "%"+string(v)+" of a "+typ.String()+": textf renders %d for the predeclared integer types, %s %v %q for string, error and Stringer, %s %q also []byte, %v also bool and integers")
					}
				}
				return true
			})
		}
		// A formatting function used as a value (a method value, an
		// argument, a variable): its calls cannot be checked.
		for id := range p.TypesInfo.Uses {
			if key, _ := callee(p, id); wrappers[key] && !called[id] && !forwards["arg "+p.Fset.Position(id.Pos()).String()] {
				problem(id.Pos(), id.Name+" is used as a value: call it directly, so that its format can be checked")
			}
		}
	}
	slices.Sort(problems)
	return problems, wrappers, calls
}

// findWrappers returns textf's functions and, to a fixed point, every
// function of the module — declared, or a function literal bound to a
// variable — whose last parameters are (string, ...any) and that passes
// args... on to one already found; forwards holds the positions of those
// calls, the only ones that may pass args... to a formatting function.
func findWrappers(pkgs []*packages.Package) (wrappers, forwards map[string]bool) {
	wrappers = map[string]bool{module + "packages/core/textf.Sprintf": true, module + "packages/core/textf.Errorf": true}
	forwards = map[string]bool{}
	for grew := true; grew; {
		grew = false
		add := func(key string) {
			if key != "" && !wrappers[key] {
				wrappers[key] = true
				grew = true
			}
		}
		for _, p := range pkgs {
			visit := func(key string, sig *types.Signature, body *ast.BlockStmt) {
				if key == "" || body == nil || !formatting(sig) {
					return
				}
				ast.Inspect(body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok || !call.Ellipsis.IsValid() {
						return true
					}
					if id := calleeIdent(call); id != nil {
						if k, _ := callee(p, id); wrappers[k] {
							forwards[p.Fset.Position(call.Pos()).String()] = true
							add(key)
						}
					}
					return true
				})
			}
			for _, f := range p.Syntax {
				ast.Inspect(f, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.FuncDecl:
						if obj, ok := p.TypesInfo.Defs[n.Name].(*types.Func); ok {
							visit(key(p, obj), obj.Type().(*types.Signature), n.Body)
						}
					case *ast.CallExpr:
						// A formatting function passed as an argument makes
						// the parameter that takes it one: its calls in the
						// callee are checked (logic's scan passes fail on).
						_, sig := calleeOf(p, n)
						for i, a := range n.Args {
							id, ok := ast.Unparen(a).(*ast.Ident)
							if !ok || sig == nil || i >= sig.Params().Len() {
								continue
							}
							if k, _ := callee(p, id); wrappers[k] {
								add(key(p, sig.Params().At(i)))
								forwards["arg "+p.Fset.Position(id.Pos()).String()] = true
							}
						}
					case *ast.AssignStmt:
						bound(p, n.Lhs, n.Rhs, visit)
					case *ast.ValueSpec:
						lhs := make([]ast.Expr, len(n.Names))
						for i, id := range n.Names {
							lhs[i] = id
						}
						bound(p, lhs, n.Values, visit)
					}
					return true
				})
			}
		}
	}
	return wrappers, forwards
}

// bound visits the function literals assigned to variables.
func bound(p *packages.Package, lhs, rhs []ast.Expr, visit func(string, *types.Signature, *ast.BlockStmt)) {
	if len(lhs) != len(rhs) {
		return
	}
	for i, r := range rhs {
		lit, ok := ast.Unparen(r).(*ast.FuncLit)
		id, isID := lhs[i].(*ast.Ident)
		if !ok || !isID {
			continue
		}
		obj := p.TypesInfo.ObjectOf(id)
		sig, _ := p.TypesInfo.TypeOf(lit).(*types.Signature)
		if obj != nil && sig != nil {
			visit(key(p, obj), sig, lit.Body)
		}
	}
}

// formatting reports whether sig ends with (string, ...any), whatever the
// parameters' names.
func formatting(sig *types.Signature) bool {
	ps := sig.Params()
	if !sig.Variadic() || ps.Len() < 2 {
		return false
	}
	return types.Identical(ps.At(ps.Len()-2).Type(), types.Typ[types.String]) &&
		types.Identical(ps.At(ps.Len()-1).Type(), types.NewSlice(types.NewInterfaceType(nil, nil)))
}

// calleeIdent is the name a call calls (f or x.f), or nil.
func calleeIdent(call *ast.CallExpr) *ast.Ident {
	switch fun := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		return fun
	case *ast.SelectorExpr:
		return fun.Sel
	}
	return nil
}

// calleeOf is callee of what call calls.
func calleeOf(p *packages.Package, call *ast.CallExpr) (string, *types.Signature) {
	if id := calleeIdent(call); id != nil {
		return callee(p, id)
	}
	return "", nil
}

// callee returns the key of what id names — a function of the module, or a
// variable holding a function — and its signature; "" for anything else.
func callee(p *packages.Package, id *ast.Ident) (string, *types.Signature) {
	obj := p.TypesInfo.Uses[id]
	if obj == nil {
		return "", nil
	}
	sig, _ := obj.Type().(*types.Signature)
	if sig == nil {
		return "", nil
	}
	return key(p, obj), sig
}

// key names a function of the module by its full name, a variable by its
// position (closures are local to one package), else "".
func key(p *packages.Package, obj types.Object) string {
	if obj.Pkg() == nil || !strings.HasPrefix(obj.Pkg().Path()+"/", module) {
		return ""
	}
	switch obj := obj.(type) {
	case *types.Func:
		return obj.FullName()
	case *types.Var:
		return "var " + p.Fset.Position(obj.Pos()).String()
	}
	return ""
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
		// fmt's %v of a []byte is its numbers ([104 105]), textf's the text.
		if b, ok := s.Elem().(*types.Basic); ok && b.Kind() == types.Byte {
			return verb != 'v'
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
