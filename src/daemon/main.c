/* berthd: placeholder main until the daemon core lands. */
#include <stdio.h>
int main(void) {
  fprintf(stderr, "berthd: not implemented yet\n");
  return 1;
}
