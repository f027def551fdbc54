/* cli_tables.c — berth-runc's table outputs: `list` and `ps` (runc's formats). */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>

#include "runtime-internal.h"
#include "runtime-cli.h"

static void print_cell(const char *s, size_t width, bool last) {
  if (last)
    printf("%s\n", s);
  else
    printf("%-*s", (int)width, s);
}

/* Go's tabwriter as runc configures it: min width 12, padding 3. */
void cli_list_table(json_t *states) {
  static const char *const cols[] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
  static const char *const keys[] = {"id", "pid", "status", "bundle", "created", "owner"};
  size_t n = json_array_size(states);
  size_t width[6];
  char ***cells = xcalloc(n + 1, sizeof *cells);
  for (int c = 0; c < 6; c++)
    width[c] = strlen(cols[c]);
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(states, i);
    cells[i] = xcalloc(6, sizeof(char *));
    for (int c = 0; c < 6; c++) {
      json_t *v = json_object_get(o, keys[c]);
      cells[i][c] = json_is_integer(v) ? xasprintf("%lld", (long long)json_integer_value(v))
                                        : xstrdup(json_string_value(v) ? json_string_value(v) : "");
      if (strlen(cells[i][c]) > width[c])
        width[c] = strlen(cells[i][c]);
    }
  }
  for (int c = 0; c < 6; c++)
    width[c] = width[c] + 3 < 12 ? 12 : width[c] + 3;
  for (int c = 0; c < 6; c++)
    print_cell(cols[c], width[c], c == 5);
  for (size_t i = 0; i < n; i++) {
    for (int c = 0; c < 6; c++) {
      print_cell(cells[i][c], width[c], c == 5);
      free(cells[i][c]);
    }
    free(cells[i]);
  }
  free(cells);
}

static bool pid_in(pid_t pid, const pid_t *pids, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (pids[i] == pid)
      return true;
  return false;
}

int cli_ps_table(const pid_t *pids, size_t n, char **ps_args, struct berr **err) {
  _cleanup_strv_ char **argv = strv_append(NULL, xstrdup("ps"));
  if (!ps_args || !ps_args[0])
    argv = strv_append(argv, xstrdup("-ef"));
  for (size_t i = 0; ps_args && ps_args[i]; i++)
    argv = strv_append(argv, xstrdup(ps_args[i]));
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0)
    return berr_sys(err, errno, "ps: pipe");
  pid_t child = fork();
  if (child == 0) {
    dup2(fds[1], 1);
    execvp("ps", argv);
    _exit(127);
  }
  close(fds[1]);
  _cleanup_fclose_ FILE *f = fdopen(fds[0], "r");
  char line[4096];
  int pid_col = -1;
  for (bool header = true; f && fgets(line, sizeof line, f); header = false) {
    if (header) {
      /* find which whitespace-separated column is PID */
      _cleanup_free_ char *copy = xstrdup(line);
      char *save = NULL;
      int col = 0;
      for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++)
        if (strcmp(t, "PID") == 0)
          pid_col = col;
      fputs(line, stdout);
      continue;
    }
    _cleanup_free_ char *copy = xstrdup(line);
    char *save = NULL, *t = strtok_r(copy, " \t\n", &save);
    for (int col = 0; t && col < pid_col; col++)
      t = strtok_r(NULL, " \t\n", &save);
    if (t && pid_in((pid_t)atoi(t), pids, n))
      fputs(line, stdout);
  }
  int status = 0;
  waitpid(child, &status, 0);
  if (pid_col < 0)
    return berr_set(err, EINVAL, "ps: could not find the PID column in ps output");
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : berr_set(err, EIO, "ps: ps exited with an error");
}
