/* volume.c — placeholder entry of the volume store (volume.h). */
#include "volume/volume.h"

const char *volume_default_driver(void) { return "local"; }
