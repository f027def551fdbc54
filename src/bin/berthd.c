/* berthd: placeholder main until its issue lands (see docs/architecture.md). */
#include <stdio.h>
int main(void) {
  fprintf(stderr, "berthd: not implemented yet\n");
  return 1;
}
