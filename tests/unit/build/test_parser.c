/* Unit tests of src/build/parser.c: directives, comments, continuations,
 * heredocs, exec/shell forms, flags, line numbers and dockerd's error text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "build/build.h"

static struct dockerfile *parse_ok(const char *text) {
  struct dockerfile *df = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  int r = dockerfile_parse(text, strlen(text), &df, &err);
  if (r < 0)
    fail_msg("parse failed: %s\n--- input:\n%s", err ? err->msg : "?", text);
  assert_non_null(df);
  return df;
}

static void expect_err(const char *text, const char *msg) {
  struct dockerfile *df = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  int r = dockerfile_parse(text, strlen(text), &df, &err);
  if (r >= 0) {
    dockerfile_free(df);
    fail_msg("expected error \"%s\" for:\n%s", msg, text);
  }
  assert_int_equal(r, -EINVAL);
  assert_non_null(err);
  assert_string_equal(err->msg, msg);
}

static void test_basic(void **state) {
  (void)state;
  struct dockerfile *df = parse_ok("FROM busybox\nRUN echo hi\nCMD [\"sh\", \"-c\", \"x\"]\n");
  assert_int_equal(df->nstages, 1);
  struct bstage *st = &df->stages[0];
  assert_string_equal(st->base, "busybox");
  assert_null(st->name);
  assert_int_equal(st->ninstrs, 3);
  assert_int_equal(st->instrs[0].kind, BI_FROM);
  assert_int_equal(st->instrs[1].kind, BI_RUN);
  assert_false(st->instrs[1].json);
  assert_string_equal(st->instrs[1].args[0], "echo hi");
  assert_int_equal(st->instrs[1].line, 2);
  assert_int_equal(st->instrs[2].kind, BI_CMD);
  assert_true(st->instrs[2].json);
  assert_int_equal(strv_len(st->instrs[2].args), 3);
  assert_string_equal(st->instrs[2].args[2], "x");
  assert_int_equal(st->instrs[2].line, 3);
  dockerfile_free(df);
}

static void test_case_and_whitespace(void **state) {
  (void)state;
  struct dockerfile *df = parse_ok("  from busybox AS Build\n\t run   echo a  \n");
  assert_string_equal(df->stages[0].name, "build");
  assert_string_equal(df->stages[0].instrs[1].keyword, "RUN");
  assert_string_equal(df->stages[0].instrs[1].args[0], "echo a");
  dockerfile_free(df);
}

static void test_comments_and_continuations(void **state) {
  (void)state;
  const char *t = "# a comment\n"
                  "FROM busybox\n"
                  "\n"
                  "RUN echo hello \\\n"
                  "# comment inside\n"
                  "world \\\n"
                  "\n"
                  "  again\n"
                  "RUN echo '# not a comment'\n";
  struct dockerfile *df = parse_ok(t);
  struct bstage *st = &df->stages[0];
  assert_int_equal(st->ninstrs, 3);
  assert_string_equal(st->instrs[1].args[0], "echo hello world   again");
  assert_int_equal(st->instrs[1].line, 4);
  assert_int_equal(st->instrs[1].end_line, 8);
  assert_string_equal(st->instrs[2].args[0], "echo '# not a comment'");
  assert_int_equal(st->instrs[2].line, 9);
  dockerfile_free(df);
}

static void test_continuation_trailing_space_crlf(void **state) {
  (void)state;
  struct dockerfile *df = parse_ok("FROM busybox\r\nRUN a \\  \r\n b\r\n");
  assert_string_equal(df->stages[0].instrs[1].args[0], "a  b");
  dockerfile_free(df);
}

static void test_escape_directive(void **state) {
  (void)state;
  const char *t = "# escape=`\n"
                  "\n"
                  "FROM busybox\n"
                  "COPY . c:\\dir\\\n"
                  "RUN dir `\n"
                  "  x\n";
  struct dockerfile *df = parse_ok(t);
  assert_int_equal(df->escape, '`');
  struct bstage *st = &df->stages[0];
  assert_string_equal(st->instrs[1].args[1], "c:\\dir\\");
  assert_string_equal(st->instrs[2].args[0], "dir   x");
  assert_int_equal(st->instrs[2].line, 5);
  dockerfile_free(df);
}

static void test_directives(void **state) {
  (void)state;
  struct dockerfile *df = parse_ok("#Syntax = docker/dockerfile:1\n# check=skip=all\n#escape=\\\nFROM busybox\n");
  assert_string_equal(df->syntax, "docker/dockerfile:1");
  assert_string_equal(df->check, "skip=all");
  assert_int_equal(df->escape, '\\');
  dockerfile_free(df);
  /* after a comment, a directive is a comment */
  df = parse_ok("# hello\n# escape=`\nFROM busybox\nRUN a \\\n b\n");
  assert_int_equal(df->escape, '\\');
  assert_string_equal(df->stages[0].instrs[1].args[0], "a  b");
  dockerfile_free(df);
  /* after an instruction too */
  df = parse_ok("FROM busybox\n# escape=`\n");
  assert_int_equal(df->escape, '\\');
  dockerfile_free(df);
  /* after an empty line too */
  df = parse_ok("\n# escape=`\nFROM busybox\n");
  assert_int_equal(df->escape, '\\');
  dockerfile_free(df);
  /* an unknown directive is a comment and ends the directives */
  df = parse_ok("# unknown=x\n# syntax=y\nFROM busybox\n");
  assert_null(df->syntax);
  dockerfile_free(df);
  expect_err("# escape=x\nFROM busybox\n",
             "failed to parse Dockerfile: invalid escape token 'x' does not match ` or \\");
  expect_err("# escape=`\n# escape=`\nFROM busybox\n",
             "failed to parse Dockerfile: only one escape parser directive can be used");
  expect_err("# syntax=a\n# SYNTAX=b\nFROM busybox\n",
             "failed to parse Dockerfile: only one syntax parser directive can be used");
}

static void test_flags(void **state) {
  (void)state;
  const char *t = "FROM --platform=linux/amd64 busybox AS b\n"
                  "FROM busybox\n"
                  "COPY --from=b --chown=1:2 --chmod=755 --link --parents --exclude=*.md --exclude=x a /d/\n"
                  "ADD --link=false --checksum=sha256:ab --keep-git-dir=true a b\n"
                  "RUN --mount=type=cache,target=/c --mount=type=secret,id=s --network=none echo\n"
                  "HEALTHCHECK --interval=5s --timeout=1m30s --retries=3 --start-period=2s CMD true\n"
                  "COPY --chown=\"a b\" x y\n";
  struct dockerfile *df = parse_ok(t);
  assert_string_equal(df->stages[0].platform, "linux/amd64");
  assert_string_equal(df->stages[0].name, "b");
  struct bstage *st = &df->stages[1];
  struct binstr *cp = &st->instrs[1];
  bool present = false;
  assert_string_equal(binstr_flag(cp, "from", NULL), "b");
  assert_string_equal(binstr_flag(cp, "chown", NULL), "1:2");
  assert_string_equal(binstr_flag(cp, "chmod", NULL), "755");
  assert_null(binstr_flag(cp, "link", &present));
  assert_true(present);
  binstr_flag(cp, "parents", &present);
  assert_true(present);
  assert_int_equal(cp->nflags, 7);
  assert_string_equal(cp->flags[5].value, "*.md");
  assert_string_equal(cp->flags[6].value, "x");
  assert_int_equal(strv_len(cp->args), 2);
  assert_string_equal(cp->args[1], "/d/");
  assert_string_equal(binstr_flag(&st->instrs[2], "link", NULL), "false");
  struct binstr *run = &st->instrs[3];
  assert_int_equal(run->nflags, 3);
  assert_string_equal(run->flags[0].value, "type=cache,target=/c");
  assert_string_equal(binstr_flag(run, "network", NULL), "none");
  assert_string_equal(run->args[0], "echo");
  struct binstr *hc = &st->instrs[4];
  assert_string_equal(hc->args[0], "CMD");
  assert_string_equal(hc->args[1], "true");
  assert_string_equal(binstr_flag(hc, "retries", NULL), "3");
  assert_string_equal(binstr_flag(&st->instrs[5], "chown", NULL), "a b");
  dockerfile_free(df);
  binstr_flag(&(struct binstr){0}, "x", &present);
  assert_false(present);
}

static void test_flag_errors(void **state) {
  (void)state;
  expect_err("FROM busybox\nCOPY --foo a b\n", "dockerfile parse error line 2: Unknown flag: foo");
  expect_err("FROM busybox\nENV --x=1 a=b\n", "dockerfile parse error line 2: Unknown flag: x");
  expect_err("FROM busybox\nCOPY --from a b\n", "dockerfile parse error line 2: Missing a value on flag: from");
  expect_err("FROM busybox\nCOPY --from=a --from=b a b\n",
             "dockerfile parse error line 2: Duplicate flag specified: from");
  expect_err("FROM busybox\nCOPY --link=maybe a b\n",
             "dockerfile parse error line 2: expecting boolean value for flag link, not: maybe");
  expect_err("FROM busybox\n\nHEALTHCHECK --interval=abc CMD x\n",
             "dockerfile parse error line 3: time: invalid duration \"abc\"");
  expect_err("FROM busybox\nHEALTHCHECK --timeout=10us CMD x\n",
             "dockerfile parse error line 2: Interval \"timeout\" cannot be less than 1ms");
}

static void test_json_forms(void **state) {
  (void)state;
  const char *t = "FROM busybox\n"
                  "ENTRYPOINT [\"/bin/echo\", \"a b\"]\n"
                  "CMD []\n"
                  "RUN [ \"echo\" , \"x\" ]\n"
                  "CMD [not json\n"
                  "VOLUME [\"/a\", \"/b\"]\n"
                  "VOLUME /c /d\n"
                  "SHELL [\"/bin/bash\", \"-c\"]\n"
                  "COPY [\"a b\", \"/c d/\"]\n";
  struct dockerfile *df = parse_ok(t);
  struct bstage *st = &df->stages[0];
  assert_true(st->instrs[1].json);
  assert_string_equal(st->instrs[1].args[1], "a b");
  assert_true(st->instrs[2].json);
  assert_int_equal(strv_len(st->instrs[2].args), 0);
  assert_true(st->instrs[3].json);
  assert_false(st->instrs[4].json);
  assert_string_equal(st->instrs[4].args[0], "[not json");
  assert_int_equal(strv_len(st->instrs[5].args), 2);
  assert_true(st->instrs[5].json);
  assert_false(st->instrs[6].json);
  assert_string_equal(st->instrs[6].args[1], "/d");
  assert_string_equal(st->instrs[7].args[0], "/bin/bash");
  assert_string_equal(st->instrs[8].args[0], "a b");
  dockerfile_free(df);
  expect_err("FROM busybox\nCMD [\"a\", 1]\n",
             "failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of strings only");
  expect_err("FROM busybox\nHEALTHCHECK --retries=0 CMD x\n",
             "dockerfile parse error line 2: --retries must be at least 1 (not 0)");
  expect_err("FROM busybox\nSHELL /bin/sh -c\n",
             "dockerfile parse error line 2: SHELL requires the arguments to be in JSON notation");
}

static void test_env_label_arg(void **state) {
  (void)state;
  const char *t = "ARG BASE=busybox\n"
                  "ARG V\n"
                  "FROM $BASE\n"
                  "ENV A=1 B=\"two words\" C=a\\ b\n"
                  "ENV D old style value\n"
                  "LABEL \"com.x\"=\"y\" z=1\n"
                  "ARG X=1 Y\n";
  struct dockerfile *df = parse_ok(t);
  assert_int_equal(df->nmeta_args, 2);
  assert_string_equal(df->meta_args[0].args[0], "BASE=busybox");
  assert_string_equal(df->meta_args[1].args[0], "V");
  assert_int_equal(df->meta_args[1].line, 2);
  struct bstage *st = &df->stages[0];
  assert_string_equal(st->base, "$BASE");
  char **e = st->instrs[1].args;
  assert_int_equal(strv_len(e), 6);
  assert_string_equal(e[0], "A");
  assert_string_equal(e[3], "\"two words\"");
  assert_string_equal(e[5], "a\\ b");
  e = st->instrs[2].args;
  assert_string_equal(e[0], "D");
  assert_string_equal(e[1], "old style value");
  e = st->instrs[3].args;
  assert_string_equal(e[0], "\"com.x\"");
  assert_string_equal(e[1], "\"y\"");
  assert_int_equal(strv_len(st->instrs[4].args), 2);
  dockerfile_free(df);
  expect_err("FROM busybox\nENV\n", "dockerfile parse error line 2: ENV requires at least one argument");
  expect_err("FROM busybox\nENV A\n", "failed to parse Dockerfile: ENV must have two arguments");
  expect_err("FROM busybox\nENV =x\n", "dockerfile parse error line 2: ENV names can not be blank");
  expect_err("FROM busybox\nLABEL a=b c\n",
             "failed to parse Dockerfile: Syntax error - can't find = in \"c\". Must be of the form: name=value");
  expect_err("FROM busybox\n\n\nARG\n", "dockerfile parse error line 4: ARG requires at least one argument");
}

static void test_heredocs(void **state) {
  (void)state;
  const char *t = "FROM busybox\n"
                  "RUN <<EOF\n"
                  "echo $HOME\n"
                  "  indented\n"
                  "EOF\n"
                  "RUN <<-'END' cat > /x\n"
                  "\t\tno tabs $X\n"
                  "\tEND\n"
                  "COPY <<a.txt <<\"b.txt\" /dest/\n"
                  "A\n"
                  "a.txt\n"
                  "B\n"
                  "b.txt\n"
                  "RUN echo after\n";
  struct dockerfile *df = parse_ok(t);
  struct bstage *st = &df->stages[0];
  assert_int_equal(st->ninstrs, 5);
  struct binstr *r = &st->instrs[1];
  assert_int_equal(r->nheredocs, 1);
  assert_string_equal(r->heredocs[0].name, "EOF");
  assert_string_equal(r->heredocs[0].content, "echo $HOME\n  indented\n");
  assert_true(r->heredocs[0].expand);
  assert_false(r->heredocs[0].chomp);
  assert_int_equal(r->line, 2);
  assert_int_equal(r->end_line, 5);
  r = &st->instrs[2];
  assert_string_equal(r->heredocs[0].name, "END");
  assert_string_equal(r->heredocs[0].content, "no tabs $X\n");
  assert_false(r->heredocs[0].expand);
  assert_true(r->heredocs[0].chomp);
  assert_string_equal(r->args[0], "<<-'END' cat > /x");
  r = &st->instrs[3];
  assert_int_equal(r->nheredocs, 2);
  assert_string_equal(r->heredocs[0].content, "A\n");
  assert_string_equal(r->heredocs[1].name, "b.txt");
  assert_false(r->heredocs[1].expand);
  assert_int_equal(r->line, 9);
  assert_int_equal(r->end_line, 13);
  assert_int_equal(st->instrs[4].line, 14);
  dockerfile_free(df);
  expect_err("FROM busybox\nRUN <<EOF\necho\n", "dockerfile parse error line 2: unterminated heredoc");
  /* "<<" in other instructions is just text */
  df = parse_ok("FROM busybox\nLABEL a=<<EOF\nRUN x\n");
  assert_int_equal(df->stages[0].ninstrs, 3);
  dockerfile_free(df);
}

static void test_stages_and_onbuild(void **state) {
  (void)state;
  const char *t = "FROM busybox AS one\n"
                  "ONBUILD RUN echo trig\n"
                  "ONBUILD copy --chown=1 a b\n"
                  "FROM one as Two\n"
                  "FROM scratch\n";
  struct dockerfile *df = parse_ok(t);
  assert_int_equal(df->nstages, 3);
  assert_string_equal(df->stages[1].name, "two");
  assert_int_equal(df->stages[1].index, 1);
  assert_string_equal(df->stages[2].base, "scratch");
  struct binstr *ob = &df->stages[0].instrs[1];
  assert_non_null(ob->sub);
  assert_int_equal(ob->sub->kind, BI_RUN);
  assert_string_equal(ob->args[0], "RUN echo trig");
  assert_int_equal(df->stages[0].instrs[2].sub->kind, BI_COPY);
  assert_string_equal(binstr_flag(df->stages[0].instrs[2].sub, "chown", NULL), "1");
  dockerfile_free(df);
  expect_err("FROM busybox\nONBUILD ONBUILD RUN x\n",
             "dockerfile parse error line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  expect_err("FROM busybox\nONBUILD FROM x\n", "dockerfile parse error line 2: FROM isn't allowed as an ONBUILD trigger");
  expect_err("FROM busybox\nONBUILD MAINTAINER x\n",
             "dockerfile parse error line 2: MAINTAINER isn't allowed as an ONBUILD trigger");
  expect_err("FROM a AS x\nFROM b AS X\n", "dockerfile parse error line 2: duplicate name x");
  expect_err("FROM a AS 1x\n",
             "dockerfile parse error line 1: invalid name for build stage: \"1x\", name can't start with a number or contain symbols");
  expect_err("FROM a b c\n", "dockerfile parse error line 1: FROM requires either one or three arguments");
  expect_err("FROM a b\n", "dockerfile parse error line 1: FROM requires either one or three arguments");
}

static void test_arg_counts(void **state) {
  (void)state;
  expect_err("FROM busybox\nCOP a b\n", "dockerfile parse error line 2: unknown instruction: COP");
  expect_err("FROM busybox\nRUN a \\\n b\nfoo bar\n", "dockerfile parse error line 4: unknown instruction: FOO");
  expect_err("FROM busybox\nCOPY a\n", "dockerfile parse error line 2: COPY requires at least two arguments, but only one was "
                                       "provided. Destination could not be determined");
  expect_err("FROM busybox\nADD\n", "dockerfile parse error line 2: ADD requires at least two arguments");
  expect_err("FROM busybox\nUSER\n", "dockerfile parse error line 2: USER requires exactly one argument");
  expect_err("FROM busybox\nSTOPSIGNAL\n", "dockerfile parse error line 2: STOPSIGNAL requires exactly one argument");
  expect_err("FROM busybox\nWORKDIR\n", "dockerfile parse error line 2: WORKDIR requires exactly one argument");
  expect_err("FROM busybox\nEXPOSE\n", "dockerfile parse error line 2: EXPOSE requires at least one argument");
  expect_err("FROM busybox\nVOLUME\n", "dockerfile parse error line 2: VOLUME requires at least one argument");
  expect_err("FROM busybox\nVOLUME [\"\"]\n",
             "dockerfile parse error line 2: VOLUME specified can not be an empty string");
  expect_err("FROM busybox\nRUN\n", "dockerfile parse error line 2: RUN requires at least one argument");
  expect_err("FROM busybox\nHEALTHCHECK FOO x\n",
             "dockerfile parse error line 2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)");
  expect_err("FROM busybox\nHEALTHCHECK foo x\n", "dockerfile parse error line 2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)");
  expect_err("FROM busybox\nHEALTHCHECK NONE x\n", "dockerfile parse error line 2: HEALTHCHECK NONE takes no arguments");
  expect_err("FROM busybox\nONBUILD\n", "dockerfile parse error line 2: ONBUILD requires at least one argument");
  expect_err("RUN x\n", "no build stage in current context");
  expect_err("", "failed to parse Dockerfile: file with no instructions");
  expect_err("\n# only a comment\n\n", "failed to parse Dockerfile: file with no instructions");
  expect_err("ARG x\n", "no build stage in current context");
}

static void test_healthcheck_none_and_bom(void **state) {
  (void)state;
  struct dockerfile *df = parse_ok("\xef\xbb\xbf" "FROM busybox\nHEALTHCHECK none\nHEALTHCHECK CMD [\"a\",\"b\"]\n");
  assert_string_equal(df->stages[0].instrs[1].args[0], "NONE");
  assert_true(df->stages[0].instrs[2].json);
  assert_string_equal(df->stages[0].instrs[2].args[2], "b");
  dockerfile_free(df);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basic),
      cmocka_unit_test(test_case_and_whitespace),
      cmocka_unit_test(test_comments_and_continuations),
      cmocka_unit_test(test_continuation_trailing_space_crlf),
      cmocka_unit_test(test_escape_directive),
      cmocka_unit_test(test_directives),
      cmocka_unit_test(test_flags),
      cmocka_unit_test(test_flag_errors),
      cmocka_unit_test(test_json_forms),
      cmocka_unit_test(test_env_label_arg),
      cmocka_unit_test(test_heredocs),
      cmocka_unit_test(test_stages_and_onbuild),
      cmocka_unit_test(test_arg_counts),
      cmocka_unit_test(test_healthcheck_none_and_bom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
