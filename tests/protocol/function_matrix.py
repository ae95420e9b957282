"""function_matrix.py — generates the differential test of functions declared before they are defined.

Students declare a thread's function first and write it later (`void *worker(void *arg);`), or
write a helper below the code that calls it. The kernel must then behave like one C program:
gcc, compiling the same declarations, definitions and calls as one translation unit, is the
oracle. Every call prints its value exactly (through cross_cell_matrix's SHOW, or as text).

The matrix: return types (integers, floating point, _Bool, strings, pointers, pointers to
pointers, structs by value and by pointer, a function returning a pointer to a function), in
declarations written as people write them (with and without parameter names, `extern`, `static`,
`char*name`), each used five ways:
  - declared in one cell, defined in the next, called in a third,          ("later")
  - declared and called by another function of the same cell, defined later, ("caller")
  - its address taken once it is defined,                                  ("pointer")
  - its address stored in a global before it is defined, called after,     ("early")
  - declared, called and defined in one cell.                              ("same")

Use build(), which returns (cells, program) as cross_cell_matrix.build() does.
"""

from cross_cell_matrix import HEADER

PRELUDE = r"""#include <stdint.h>
struct pair { int a, b; };
typedef int (*int_function)(int);
int twice_int(int x) { return 2 * x; }
int negate_int(int x) { return -x; }
char shared_buffer[32];
char shared_area[16];
"""


def scalar(label, expr):
    return "SHOW(\"%s\", %s);" % (label, expr)


def text(label, expr):
    return "printf(\"%s %%s\\n\", %s);" % (label, expr)


def offset_in_area(label, expr):
    return "printf(\"%s %%ld\\n\", (long)((char *)(%s) - shared_area));" % (label, expr)


def pair_by_value(label, expr):
    return "{ struct pair got = %s; printf(\"%s %%d %%d\\n\", got.a, got.b); }" % (expr, label)


def pair_by_pointer(label, expr):
    return "printf(\"%s %%d\\n\", (%s)->b);" % (label, expr)


# key, declaration (%s: the name), definition, return type for a caller, the call's arguments,
# what the shown expression applies to the result, how to show it
FUNCTIONS = [
    ("int", "int %s(int x);", "int %s(int x) { return x * 3 + 1; }", "int", "(14)", "", scalar),
    ("unnamed", "char %s(int);", "char %s(int i) { return 'a' + i; }", "char", "(5)", "", scalar),
    ("ulong", "unsigned long %s(unsigned long x);", "unsigned long %s(unsigned long x) { return x * 1000003UL; }",
     "unsigned long", "(18000000000UL)", "", scalar),
    ("extern", "extern long long %s(long long x);", "long long %s(long long x) { return -x * x; }",
     "long long", "(3000000LL)", "", scalar),
    ("static", "static short %s(short x);", "static short %s(short x) { return x - 1000; }", "short", "(77)", "", scalar),
    ("bool", "_Bool %s(int x);", "_Bool %s(int x) { return x > 2; }", "_Bool", "(3)", "", scalar),
    ("double", "double %s(double x);", "double %s(double x) { return x / 4.0 + 0.1; }", "double", "(10.0)", "", scalar),
    ("float", "float %s(float x, float y);", "float %s(float x, float y) { return x * y; }", "float",
     "(1.5f, 0.1f)", "", scalar),
    ("ldouble", "long double %s(long double x);", "long double %s(long double x) { return x / 3; }",
     "long double", "(2.0L)", "", scalar),
    ("string", "const char *%s(int which);", "const char *%s(int which) { return which ? \"yes\" : \"no\"; }",
     "const char *", "(1)", "", text),
    ("tight", "char*%s(void);", "char *%s(void) { return \"tight\"; }", "char *", "()", "", text),
    ("buffer", "char *%s(char *buffer, int n);",
     "char *%s(char *buffer, int n) { snprintf(buffer, 32, \"n=%%d\", n); return buffer; }",
     "char *", "(shared_buffer, 42)", "", text),
    ("voidp", "void *%s(void *place);", "void *%s(void *place) { return (char *)place + 8; }", "void *",
     "(shared_area)", "", offset_in_area),
    ("names", "const char **%s(void);",
     "const char **%s(void) { static const char *names[] = {\"left\", \"right\"}; return names; }",
     "const char **", "()", "[1]", text),
    ("pair", "struct pair %s(int a, int b);", "struct pair %s(int a, int b) { struct pair r = {b, a}; return r; }",
     "struct pair", "(1, 2)", "", pair_by_value),
    ("pairp", "struct pair *%s(int a);",
     "struct pair *%s(int a) { static struct pair kept; kept.a = a; kept.b = -a; return &kept; }",
     "struct pair *", "(9)", "", pair_by_pointer),
    ("chooser", "int (*%s(int which))(int);", "int (*%s(int which))(int) { return which ? negate_int : twice_int; }",
     "int_function", "(1)", "(21)", scalar),
]


def build():
    cells = [HEADER, PRELUDE]
    gcc_top = [HEADER, PRELUDE]
    gcc_main = []
    for key, declaration, definition, ret, args, after, show in FUNCTIONS:
        for way in ("later", "caller", "pointer", "early", "same"):
            name = "%s_%s" % (way, key)
            decl, defn = declaration % name, definition % name
            label = "%s %s" % (way, key)
            caller = "%s via_%s(void) { return %s%s; }" % (ret, name, name, args)
            pointer = "__typeof__(%s) *%s_%s = %s;" % (name, way, name, name)
            if way == "later":
                shown = show(label, name + args + after)
                cells += [decl, defn, shown]
                gcc_top += [decl, defn]
            elif way == "caller":
                shown = show(label, "via_%s()%s" % (name, after))
                cells += [decl + "\n" + caller, defn, shown]
                gcc_top += [decl, caller, defn]
            elif way == "pointer":
                shown = show(label, "%s_%s%s%s" % (way, name, args, after))
                cells += [decl, defn, pointer + "\n" + shown]
                gcc_top += [decl, defn, pointer]
            elif way == "early":
                shown = show(label, "%s_%s%s%s" % (way, name, args, after))
                cells += [decl + "\n" + pointer, defn, shown]
                gcc_top += [decl, pointer, defn]
            else:  # same
                shown = show(label, "via_%s()%s" % (name, after))
                cells += [decl + "\n" + caller + "\n" + defn, shown]
                gcc_top += [decl, caller, defn]
            gcc_main.append(shown)
    program = "\n".join(gcc_top) + "\nint main(void) {\n" + "\n".join(gcc_main) + "\nreturn 0;\n}\n"
    return cells, program


if __name__ == "__main__":  # python3 function_matrix.py > program.c: the gcc side, to look at
    print(build()[1])
