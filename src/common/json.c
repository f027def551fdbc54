/* json.c — small jansson helpers: load a file with a located error, compact dumps. */
#include <errno.h>

#include "common.h"

int json_load_path(const char *path, json_t **out, struct berr **err) {
  json_error_t jerr;
  json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (j == NULL) {
    if (jerr.line <= 0 && access(path, F_OK) < 0)
      return berr_sys(err, errno, "%s", path);
    return berr_set(err, EINVAL, "%s: invalid JSON at line %d, column %d: %s", path, jerr.line, jerr.column,
                    jerr.text);
  }
  *out = j;
  return 0;
}

char *json_dump_compact(const json_t *j) {
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!s)
    abort();
  return s;
}
