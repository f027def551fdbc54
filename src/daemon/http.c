/* http.c: placeholder */
#include "daemon/daemon.h"
