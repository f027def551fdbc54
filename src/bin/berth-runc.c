/* berth-runc: the OCI runtime's thin main; everything is in src/runtime (cli.c). */
#include "runtime/runtime-cli.h"

int main(int argc, char **argv) {
  return cli_main(argc, argv);
}
