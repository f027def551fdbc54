/* config.c: placeholder */
#include "daemon/daemon.h"
