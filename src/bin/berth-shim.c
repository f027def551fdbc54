/* berth-shim: placeholder main until its issue lands (see docs/architecture.md). */
#include <stdio.h>
int main(void) {
  fprintf(stderr, "berth-shim: not implemented yet\n");
  return 1;
}
