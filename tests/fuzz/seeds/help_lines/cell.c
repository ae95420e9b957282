printf?
int x = a > b ? a : b;
??malloc
p->next?
/* c? */ char *s = "q?";
flag?
  1 : 2;
