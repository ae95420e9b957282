#define M(x) \
  ((x) + 1)
struct s { int a; } v = {M(1)};
"str\"ing" /* c */ 'c'
v.a