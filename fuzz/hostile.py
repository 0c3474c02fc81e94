#!/usr/bin/env python3
"""Writes hostile C seeds for the extract target into the directory given:
deep nesting, long chains and wide fan-outs of the constructs lockpath walks
(expressions, statements, gotos, macros, guards, typedefs, calls, locks).
Sizes stay under libFuzzer's -max_len (64 KiB) so inputs are not cut, and
each is small enough that lockpath handles it in about a second; the fuzzer
grows and splices them. Used by ci/fuzz.sh."""

import os
import sys

N = 1000  # repetitions: deep enough to find recursion, small enough to stay fast

SEEDS = {
    "parens": lambda n: "int f(int x)\n{\n\treturn " + "(" * n + "x" + ")" * n + ";\n}\n",
    "unary": lambda n: "int f(int x)\n{\n\treturn " + "!" * n + "x;\n}\n",
    "and_chain": lambda n: "int f(int x)\n{\n\tif (" + " && ".join(f"spin_trylock(&l{i})" for i in range(n)) + ") return 1;\n\treturn 0;\n}\n",
    "ternary": lambda n: "int f(int x)\n{\n\treturn " + "x ? mutex_lock(&m) : " * n + "0;\n}\n",
    "comma_locks": lambda n: "int f(int x)\n{\n\treturn (" + ", ".join(["spin_lock(&a)"] * n) + ");\n}\n",
    "arrow_chain": lambda n: "void f(struct s *x)\n{\n\tspin_lock(&x" + "->a" * n + ".lock);\n}\n",
    "call_nest": lambda n: "int f(int x)\n{\n\treturn " + "g(" * n + "x" + ")" * n + ";\n}\n",
    "cast_chain": lambda n: "int f(int x)\n{\n\treturn " + "(int)" * n + "x;\n}\n",
    "stmt_expr": lambda n: "int f(int x)\n{\n\treturn " + "({ " * n + "x;" + " })" * n + ";\n}\n",
    "else_if": lambda n: "void f(int x)\n{\n\t" + "".join(f"if (x == {i}) spin_lock(&a); else " for i in range(n)) + "spin_unlock(&a);\n}\n",
    "gotos": lambda n: "void f(int x)\n{\n" + "".join(f"l{i}: if (x) goto l{(i * 7919) % n}; mutex_lock(&m);\n" for i in range(n)) + "}\n",
    "switch_wide": lambda n: "void f(int x)\n{\n\tswitch (x) {\n" + "".join(f"\tcase {i}: spin_lock(&a);\n" for i in range(n)) + "\t}\n}\n",
    "switch_deep": lambda n: "void f(int x)\n{\n" + "switch (x) { case 1:\n" * n + "spin_lock(&a);" + "}\n" * n + "}\n",
    "while_deep": lambda n: "void f(int x)\n{\n" + "while (x) {\n" * n + "mutex_lock(&m);" + "}\n" * n + "}\n",
    "do_deep": lambda n: "void f(int x)\n{\n" + "do {\n" * n + "mutex_lock(&m);" + "} while (x);\n" * n + "}\n",
    "if_deep": lambda n: "void f(int x)\n{\n" + "if (x)\n" * n + "mutex_lock(&m);\n}\n",
    "scoped_guard_deep": lambda n: "void f(int x)\n{\n" + "scoped_guard(spinlock, &a)\n" * n + "x++;\n}\n",
    "guard_blocks": lambda n: "void f(int x)\n{\n" + "{ guard(mutex)(&m);\n" * n + "}" * n + "\n}\n",
    "iterator_deep": lambda n: "void f(int x)\n{\n" + "list_for_each_entry(p, &h, node)\n" * n + "mutex_lock(&p->m);\n}\n",
    "macro_chain": lambda n: "".join(f"#define M{i}(x) M{i + 1}(x); spin_lock(&a)\n" for i in range(n // 4)),
    "macro_parens": lambda n: "#define M(x) " + "(" * n + "x" + ")" * n + "\n",
    "call_chain": lambda n: "".join(f"static void f{i}(void) {{ f{i + 1}(); }}\n" for i in range(n)) + f"static void f{n}(void) {{ mutex_lock(&m); }}\n",
    "call_cycle": lambda n: "".join(f"static void f{i}(void) {{ spin_lock(&a{i}); f{(i + 1) % n}(); spin_unlock(&a{i}); }}\n" for i in range(n)),
    "order_ring": lambda n: "".join(f"static void f{i}(void) {{ spin_lock(&a{i}); spin_lock(&a{(i + 1) % n}); }}\n" for i in range(n)),
    "struct_chain": lambda n: "struct s0 { int x; };\n" + "".join(f"struct s{i + 1} {{ struct s{i} a; spinlock_t lock; }};\n" for i in range(n)) + f"void f(struct s{n} *p) {{ spin_lock(&p->a.a.a.lock); }}\n",
    "struct_nest": lambda n: "struct s { " + "struct { " * n + "int x;" + "} a;" * n + " };\n",
    "initializer": lambda n: "int a[] = " + "{" * n + "1" + "}" * n + ";\n",
    "ifdef_deep": lambda n: "#if A\n" * n + "void f(void) { spin_lock(&a); }\n" + "#endif\n" * n,
    "typedef_chain": lambda n: "typedef struct s t0;\n" + "".join(f"typedef t{i} t{i + 1};\n" for i in range(n)) + f"void f(t{n} *p) {{ spin_lock(&p->lock); }}\n",
    "typedef_cycle": lambda n: "".join(f"typedef t{(i + 1) % n} t{i};\n" for i in range(n)) + "void f(t0 *p) { spin_lock(&p->lock); }\n",
    "declarator": lambda n: "int " + "*" * n + "p;\nint " + "(" * n + "q" + ")" * n + ";\n",
    "fnptr": lambda n: "int " + "(*" * n + "f" + ")(void)" * n + ";\n",
    "held_many": lambda n: "void f(void) { " + "".join(f"spin_lock(&a{i}); " for i in range(n // 10)) + "}\n",
    "unbalanced_open": lambda n: "void f(void) { " + "{" * n + "\n",
    "unbalanced_close": lambda n: "void f(void) { " + "}" * n + "\n",
    "annotations": lambda n: "".join(f"__acquires(a{i}) " for i in range(n)) + "void f(void) {}\n",
    "annotation_parens": lambda n: "void f(void) __must_hold(" + "(" * n + "x" + ")" * n + ") {}\n",
    "define_guards": lambda n: "".join(f"DEFINE_GUARD(g{i}, struct mutex *, mutex_lock(_T), mutex_unlock(_T))\n" for i in range(n)),
    "backslashes": lambda n: "#define X \\\n" * n + "1\n",
    "open_comment": lambda n: "/*" + "*" * n + "\nvoid f(void) { spin_lock(&a); }\n",
}


def main() -> None:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, make in SEEDS.items():
        text = make(N)
        with open(os.path.join(out, f"hostile-{name}.c"), "w") as f:
            f.write(text[:65536])


if __name__ == "__main__":
    main()
