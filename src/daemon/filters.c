/* filters.c: placeholder */
#include "daemon/daemon.h"
