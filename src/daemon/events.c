/* events.c: placeholder */
#include "daemon/daemon.h"
