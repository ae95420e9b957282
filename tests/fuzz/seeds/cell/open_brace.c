int f(void) {
  if (x) { y(); } else { z(); }
