"""cross_cell_matrix.py — generates the differential test of globals across cells.

One matrix of C, two ways to run it: as notebook cells sent to the kernel, and as one C program
compiled by gcc, the oracle. Every expression prints its type (through _Generic) and its exact
value (integers in decimal, floating point in hexadecimal with %a), so the two runs must agree
to the last bit.

The matrix: every scalar type (signed/unsigned char, char, short, int, long, long long, _Bool,
float, double, long double, an enum, pointers), as plain globals, arrays and struct members;
used in binary and unary operators, comparisons, compound assignment, ++/--, casts, function
arguments, conditions and _Generic; with the global read and written from
  - the cell that defines it,                        ("same")
  - a later cell,                                    ("later")
  - its own cell run a second time,                  ("rerun")
  - a later cell, the global declared `static`,      ("static")
  - a function that a later cell defines.            ("function")

Use build(), which returns (cells, program): cells is a list of cell sources in the order the
kernel runs them (a re-run cell appears twice), program is the gcc translation unit.
"""

# name, C type, two values (a: the global, b: the other operand), literal, integer?, unsigned?
TYPES = [
    ("c", "char", "97", "7", "3", True, False),
    ("sc", "signed char", "-7", "3", "3", True, False),
    ("uc", "unsigned char", "200", "7", "3", True, True),
    ("s", "short", "-1234", "56", "3", True, False),
    ("us", "unsigned short", "60000", "7", "3", True, True),
    ("i", "int", "-123456", "789", "3", True, False),
    ("u", "unsigned int", "4000000000u", "7u", "3u", True, True),
    ("l", "long", "-1234567890123L", "4567L", "3L", True, False),
    ("ul", "unsigned long", "18000000000000000000UL", "13UL", "3UL", True, True),
    ("ll", "long long", "-9000000000000LL", "77LL", "3LL", True, False),
    ("ull", "unsigned long long", "17000000000000000000ULL", "11ULL", "3ULL", True, True),
    ("b", "_Bool", "1", "1", "1", True, True),
    ("e", "enum level", "LEVEL_HIGH", "LEVEL_LOW", "LEVEL_LOW", True, False),
    ("f", "float", "2.5f", "0.1f", "3.0f", False, False),
    ("d", "double", "2.0", "0.1", "3.0", False, False),
    ("ld", "long double", "2.5L", "0.1L", "3.0L", False, False),
]

CAST_TARGETS = ["int", "unsigned int", "long long", "unsigned char", "_Bool", "float", "double",
                "long double"]

# Shared by both runs: how a value is shown. It is the first cell in the kernel.
HEADER = r"""#include <stdio.h>
#include <string.h>
enum level { LEVEL_LOW = 1, LEVEL_MID = 4, LEVEL_HIGH = 9 };
#define TYPE_NAME(e) _Generic((e), _Bool: "_Bool", char: "char", signed char: "signed char", \
    unsigned char: "unsigned char", short: "short", unsigned short: "unsigned short", \
    int: "int", unsigned int: "unsigned int", long: "long", unsigned long: "unsigned long", \
    long long: "long long", unsigned long long: "unsigned long long", float: "float", \
    double: "double", long double: "long double", default: "pointer")
void show_i(const char *label, const char *type, long long v) { printf("%s %s %lld\n", label, type, v); }
void show_u(const char *label, const char *type, unsigned long long v) { printf("%s %s %llu\n", label, type, v); }
void show_d(const char *label, const char *type, double v) { printf("%s %s %a\n", label, type, v); }
void show_ld(const char *label, const char *type, long double v) { printf("%s %s %La\n", label, type, v); }
void show_p(const char *label, const char *type, int nonnull) { printf("%s %s %s\n", label, type, nonnull ? "set" : "NULL"); }
#define SHOW(label, e) _Generic((e), \
    _Bool: show_u(label, TYPE_NAME(e), (unsigned long long)(e)), \
    unsigned char: show_u(label, TYPE_NAME(e), (unsigned long long)(e)), \
    unsigned short: show_u(label, TYPE_NAME(e), (unsigned long long)(e)), \
    unsigned int: show_u(label, TYPE_NAME(e), (unsigned long long)(e)), \
    unsigned long: show_u(label, TYPE_NAME(e), (unsigned long long)(e)), \
    unsigned long long: show_u(label, TYPE_NAME(e), (unsigned long long)(e)), \
    float: show_d(label, TYPE_NAME(e), (double)(e)), \
    double: show_d(label, TYPE_NAME(e), (double)(e)), \
    long double: show_ld(label, TYPE_NAME(e), (long double)(e)), \
    char: show_i(label, TYPE_NAME(e), (long long)(e)), signed char: show_i(label, TYPE_NAME(e), (long long)(e)), \
    short: show_i(label, TYPE_NAME(e), (long long)(e)), int: show_i(label, TYPE_NAME(e), (long long)(e)), \
    long: show_i(label, TYPE_NAME(e), (long long)(e)), long long: show_i(label, TYPE_NAME(e), (long long)(e)), \
    default: show_p(label, TYPE_NAME(e), (e) != 0))
"""


class Names:
    """The globals one scope defines for one type, e.g. later_d_a, later_d_arr, later_d_rec."""

    def __init__(self, scope, key):
        p = "%s_%s_" % (scope, key)
        self.a, self.b = p + "a", p + "b"
        self.arr, self.rec, self.ptr = p + "arr", p + "rec", p + "ptr"
        self.tag = p + "rec_t"
        self.check = p + "check"
        self.pass_fn = p + "pass"


def definitions(n, ctype, a, b, static):
    st = "static " if static else ""
    return "\n".join([
        "struct %s { char pad; %s m; %s arr[2]; };" % (n.tag, ctype, ctype),
        "%s%s %s = %s;" % (st, ctype, n.a, a),
        "%s%s %s = %s;" % (st, ctype, n.b, b),
        "%s%s %s[3] = {%s, %s, %s};" % (st, ctype, n.arr, a, b, a),
        "%sstruct %s %s = {1, %s, {%s, %s}};" % (st, n.tag, n.rec, a, b, a),
        "%s%s *%s = &%s;" % (st, ctype, n.ptr, n.a),
        "%s %s(%s v) { return v; }" % (ctype, n.pass_fn, ctype),
    ])


def resets(n, ctype, a, b):
    """Statements that give the globals their initial values again (a re-run, in gcc's run)."""
    return "\n".join([
        "%s = %s;" % (n.a, a), "%s = %s;" % (n.b, b),
        "%s[0] = %s; %s[1] = %s; %s[2] = %s;" % (n.arr, a, n.arr, b, n.arr, a),
        "%s.pad = 1; %s.m = %s; %s.arr[0] = %s; %s.arr[1] = %s;" % (n.rec, n.rec, a, n.rec, b, n.rec, a),
        "%s = &%s;" % (n.ptr, n.a),
    ])


def expressions(n, key, ctype, lit, is_int, is_unsigned):
    """(label, C expression or statement) pairs; statements restore what they change."""
    g, h = n.a, n.b
    out = []

    def e(label, text):
        out.append(("%s.%s" % (n.a, label), text))

    ops = ["+", "-", "*", "/"]
    if is_int:
        ops += ["%", "&", "|", "^", ">>"]
        if is_unsigned:
            ops.append("<<")
    for i, op in enumerate(ops):
        rhs = "1" if op in (">>", "<<") else None
        if rhs:
            e("op%d_gl" % i, "%s %s %s" % (g, op, rhs))
            continue
        e("op%d_gL" % i, "%s %s local" % (g, op))         # global first, a local second
        e("op%d_Lg" % i, "local %s %s" % (op, g))         # the global as the memory operand
        e("op%d_gh" % i, "%s %s %s" % (g, op, h))         # two globals
        e("op%d_glit" % i, "%s %s %s" % (g, op, lit))
        e("op%d_litg" % i, "%s %s %s" % (lit, op, g))
        e("op%d_dbl" % i, "%s %s 3.0" % (g, op) if op in "+-*/" else "%s %s 3" % (g, op))
        e("op%d_arr" % i, "local %s %s[1]" % (op, n.arr))
        e("op%d_rec" % i, "local %s %s.m" % (op, n.rec))
        e("op%d_recarr" % i, "%s.arr[1] %s local" % (n.rec, op))
        e("op%d_ptr" % i, "local %s *%s" % (op, n.ptr))
    for i, op in enumerate(["<", "<=", ">", ">=", "==", "!="]):
        e("cmp%d_gL" % i, "%s %s local" % (g, op))
        e("cmp%d_Lg" % i, "local %s %s" % (op, g))
        e("cmp%d_gh" % i, "%s %s %s" % (h, op, g))
        e("cmp%d_arr" % i, "local %s %s[2]" % (op, n.arr))
    e("neg", "-%s" % g)
    e("plus", "+%s" % g)
    e("not", "!%s" % g)
    e("logic", "%s && local" % g)
    e("logic_or", "local || %s" % g)
    if is_int:
        e("compl", "~%s" % g)
    e("ternary", "%s ? %s : local" % (g, h))
    e("ternary_cmp", "(%s > local) ? %s : local" % (g, g))
    e("pass", "%s(%s)" % (n.pass_fn, g))
    e("pass_arr", "%s(%s[1])" % (n.pass_fn, n.arr))
    e("generic", "_Generic(%s, %s: 1, default: 0)" % (g, ctype))
    e("generic_sum", "_Generic(%s + local, %s: 2, default: 3)" % (g, ctype))
    e("sizeof_arr", "(int)sizeof %s" % n.arr)
    e("ptr_same", "%s == &%s" % (n.ptr, g))
    e("index", "%s[index]" % n.arr)
    for target in CAST_TARGETS:
        if not is_int and target in ("unsigned int", "unsigned char"):
            continue  # out-of-range float-to-unsigned conversions are undefined in C
        e("cast_%s" % target.replace(" ", "_"), "(%s)%s" % (target, g))
    e("cast_from_local", "(%s)local + %s" % (ctype, g))
    # Writes: each statement is followed by what it changed, then the old value comes back.
    statements = []

    def s(label, stmt, *shown):
        statements.append((label, stmt, shown))

    for op in ["+=", "-=", "*=", "/="]:
        s("assign%s" % op[0], "%s %s local;" % (g, op), g)
        s("assign_lit%s" % op[0], "%s %s %s;" % (g, op, lit), g)
        s("assign_arr%s" % op[0], "%s[1] %s local;" % (n.arr, op), "%s[1]" % n.arr)
        s("assign_rec%s" % op[0], "%s.m %s local;" % (n.rec, op), "%s.m" % n.rec)
        s("assign_local%s" % op[0], "local %s %s;" % (op, g), "local")
    s("store", "%s = local;" % g, g, "%s + %s" % (g, h))
    s("store_ptr", "*%s = local;" % n.ptr, g)
    s("store_arr", "%s[index] = %s;" % (n.arr, h), "%s[index]" % n.arr)
    if key not in ("e",):  # ++ and -- on an enum are valid C but leave its range
        s("post_inc", "result = %s++;" % g, "result", g)
        s("pre_inc", "result = ++%s;" % g, "result", g)
        s("post_dec", "result = %s--;" % g, "result", g)
        s("pre_dec", "result = --%s;" % g, "result", g)
        s("inc_rec", "%s.m++;" % n.rec, "%s.m" % n.rec)
        s("dec_arr", "--%s[2];" % n.arr, "%s[2]" % n.arr)
    s("if", "if (%s > local) result = %s; else result = local;" % (g, g), "result")
    s("while", "result = 0; for (int k = 0; k < 3 && %s; k++) result += %s;" % (g, g), "result")
    return out, statements


def check_body(n, key, ctype, a, b, lit, is_int, is_unsigned):
    """The statements of one scope's check for one type: every expression shown."""
    exprs, statements = expressions(n, key, ctype, lit, is_int, is_unsigned)
    lines = ["{", "    %s local = %s; %s result = 0; int index = 1; (void)result; (void)index;" % (ctype, b, ctype)]
    for label, text in exprs:
        lines.append('    SHOW("%s", %s);' % (label, text))
    for label, stmt, shown in statements:
        lines.append("    %s" % stmt)
        for k, what in enumerate(shown):
            lines.append('    SHOW("%s.%s.%d", %s);' % (n.a, label, k, what))
        lines.append("    " + resets(n, ctype, a, b).replace("\n", " "))
        lines.append("    local = %s;" % b)
    lines.append("}")
    return "\n".join(lines)


def build():
    cells = [HEADER]
    gcc_top = [HEADER]   # file-scope text, in order
    gcc_main = []        # main's statements, in order

    for key, ctype, a, b, lit, is_int, is_unsigned in TYPES:
        def body(scope):
            return check_body(Names(scope, key), key, ctype, a, b, lit, is_int, is_unsigned)

        # same: defined and used in one cell
        n = Names("same", key)
        cells.append(definitions(n, ctype, a, b, False) + "\n" + body("same"))
        gcc_top.append(definitions(n, ctype, a, b, False))
        gcc_main.append(body("same"))

        # later: defined in one cell, used in the next
        n = Names("later", key)
        cells.append(definitions(n, ctype, a, b, False))
        cells.append(body("later"))
        gcc_top.append(definitions(n, ctype, a, b, False))
        gcc_main.append(body("later"))

        # rerun: a cell that defines and uses, run twice
        n = Names("rerun", key)
        rerun_cell = definitions(n, ctype, a, b, False) + "\n" + body("rerun")
        cells += [rerun_cell, rerun_cell]
        gcc_top.append(definitions(n, ctype, a, b, False))
        gcc_main += [body("rerun"), resets(n, ctype, a, b), body("rerun")]

        # static: static globals, used in the next cell
        n = Names("static", key)
        cells.append(definitions(n, ctype, a, b, True))
        cells.append(body("static"))
        gcc_top.append(definitions(n, ctype, a, b, True))
        gcc_main.append(body("static"))

        # function: a later cell defines a function that reads and writes the globals
        n = Names("function", key)
        check = "void %s(void)\n%s" % (n.check, body("function"))
        cells.append(definitions(n, ctype, a, b, False))
        cells.append(check + "\n%s();" % n.check)
        gcc_top += [definitions(n, ctype, a, b, False), check]
        gcc_main.append("%s();" % n.check)

    program = "\n".join(gcc_top) + "\nint main(void) {\n" + "\n".join(gcc_main) + "\nreturn 0;\n}\n"
    return cells, program


if __name__ == "__main__":  # python3 cross_cell_matrix.py > program.c: the gcc side, to look at
    print(build()[1])
