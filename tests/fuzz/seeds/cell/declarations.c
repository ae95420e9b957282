#include <stdio.h>
#define N 10
typedef struct point { int x, y; } point;
struct node { struct node *next; int v; };
enum color { RED, GREEN = 2, BLUE };
static int counter = 0;
int a = 1, *b = &a, arr[N] = {1,2};
static inline int fib(int n) { return n < 2 ? n : fib(n-1) + fib(n-2); }
int twice(int);
pthread_t tid;
cl_thread *t = cl_thread_start(f, NULL);
FILE *fp;
foo_type *q = 0;
struct { int a; } anon = {1};
struct point p = {1, 2};
void (*handler)(int) = NULL;
for (int i = 0; i < 3; i++) { printf("%d\n", i); }
if (a) printf("a\n"); else printf("b\n");
do { a++; } while (a < 5);
counter = fib(10);
x * y;
struct point make(int x) { struct point r = {x, x}; return r; }
p = (struct point){3, 4};
{ int local = 3; printf("%d", local); }
int n = compute();
unsigned long long big;
const char *names[] = {"a", "b"};
p.x
