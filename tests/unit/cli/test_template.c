/*
 * test_template.c — the Go template subset (src/cli/template.c): every
 * construct, every function, Go's printing of values, error texts with
 * their positions, whitespace trimming, header lines, and a small fuzz run
 * (random inputs must not crash; run it under the ASan build).
 *
 * Expected outputs are what Go's text/template prints for the same template
 * over the same data decoded by encoding/json into interface{} (integers
 * kept as ints), worked out from Go's sources.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/template.h"

static const char *D = "{\"Name\":\"web\",\"N\":42,\"F\":1.5,\"T\":true,\"Z\":0,\"E\":\"\",\"Nul\":null,"
                       "\"L\":[\"a\",\"b\",\"c\"],\"M\":{\"b\":2,\"a\":1},\"S\":{\"k\":\"v\"},"
                       "\"State\":{\"Status\":\"running\",\"ExitCode\":0},\"Empty\":[],\"EmptyM\":{},"
                       "\"Nested\":{\"a\":[10,20]},\"Outer\":[[1,2],[3]],"
                       "\"Label\":{\"com.x\":\"lx\"},\"Image\":\"busybox:latest\"}";

/* Parse + execute; errors come back as "ERR <message>". */
static char *render(const char *tpl, const char *json) {
  json_t *data = json_loads(json ? json : D, JSON_DECODE_ANY, NULL);
  struct tmpl *t = NULL;
  struct berr *err = NULL;
  char *out = NULL;
  if (tmpl_parse(tpl, &t, &err) < 0)
    out = xasprintf("ERR %s", err->msg);
  else if (tmpl_exec(t, data, &out, &err) < 0)
    out = xasprintf("ERR %s", err->msg);
  berr_free(err);
  tmpl_free(t);
  json_decref(data);
  return out;
}

#define CHECK(tpl, json, want)                                                                                         \
  do {                                                                                                                 \
    char *_o = render(tpl, json);                                                                                      \
    assert_string_equal(_o, want);                                                                                     \
    free(_o);                                                                                                          \
  } while (0)

/* ---------- text, fields, printing ---------- */

static void test_text_only(void **st) {
  CHECK("hello world", NULL, "hello world");
  CHECK("", NULL, "");
  CHECK("a { b } c", NULL, "a { b } c");
}

static void test_field(void **st) {
  CHECK("{{.Name}}", NULL, "web");
  CHECK("x={{ .Name }};", NULL, "x=web;");
}

static void test_nested_field(void **st) { CHECK("{{.State.Status}}", NULL, "running"); }

static void test_missing_key(void **st) {
  CHECK("{{.Nope}}", NULL, "<no value>");
  CHECK("{{.Nope.Deeper}}", NULL, "<no value>");
  CHECK("{{.State.Nope}}", NULL, "<no value>");
}

static void test_dot(void **st) {
  CHECK("{{.}}", "\"x\"", "x");
  CHECK("{{.}}", "{\"b\":\"x\",\"a\":1}", "map[a:1 b:x]");
}

static void test_print_array(void **st) {
  CHECK("{{.L}}", NULL, "[a b c]");
  CHECK("{{.Empty}}", NULL, "[]");
  CHECK("{{.Outer}}", NULL, "[[1 2] [3]]");
}

static void test_print_map(void **st) {
  CHECK("{{.M}}", NULL, "map[a:1 b:2]");
  CHECK("{{.EmptyM}}", NULL, "map[]");
  CHECK("{{.}}", "{\"a\":null,\"b\":[null]}", "map[a:<nil> b:[<nil>]]");
}

static void test_print_null(void **st) { CHECK("{{.Nul}}", NULL, "<nil>"); }

static void test_print_scalars(void **st) {
  CHECK("{{.T}} {{.N}} {{.F}} {{.Z}}", NULL, "true 42 1.5 0");
  CHECK("{{.}}", "3.0", "3");
  CHECK("{{.}}", "1000000.0", "1e+06");
  CHECK("{{.}}", "123456.0", "123456");
  CHECK("{{.}}", "0.000001", "1e-06");
  CHECK("{{.}}", "0.0001", "0.0001");
  CHECK("{{.}}", "-2.25", "-2.25");
  CHECK("{{.}}", "12345678901", "12345678901");
}

/* ---------- literals ---------- */

static void test_string_literals(void **st) {
  CHECK("{{\"a\\tb\"}}", NULL, "a\tb");
  CHECK("{{`x\\n`}}", NULL, "x\\n");
  CHECK("{{\"\\u00e9\\x41\\101\"}}", NULL, "\xc3\xa9" "AA");
}

static void test_number_literals(void **st) {
  CHECK("{{3}} {{1.50}} {{0x1F}} {{'a'}} {{1e3}} {{-7}} {{1_000}} {{0b101}} {{0o17}}", NULL,
        "3 1.5 31 97 1000 -7 1000 5 15");
}

static void test_bool_literals(void **st) { CHECK("{{true}} {{false}}", NULL, "true false"); }

static void test_nil_command(void **st) {
  CHECK("{{nil}}", NULL, "ERR template: :1:2: executing \"\" at <nil>: nil is not a command");
}

/* ---------- if / else / with ---------- */

static void test_if_else(void **st) {
  CHECK("{{if .T}}yes{{else}}no{{end}}", NULL, "yes");
  CHECK("{{if .Z}}yes{{else}}no{{end}}", NULL, "no");
  CHECK("{{if .T}}yes{{end}}", NULL, "yes");
}

static void test_else_if(void **st) {
  const char *t = "{{if eq .N 1}}one{{else if eq .N 42}}forty-two{{else}}other{{end}}";
  CHECK(t, NULL, "forty-two");
  CHECK(t, "{\"N\":1}", "one");
  CHECK(t, "{\"N\":7}", "other");
}

static void test_truthiness(void **st) {
  const char *t = "{{if .X}}T{{else}}F{{end}}";
  CHECK(t, "{\"X\":0}", "F");
  CHECK(t, "{\"X\":0.0}", "F");
  CHECK(t, "{\"X\":\"\"}", "F");
  CHECK(t, "{\"X\":[]}", "F");
  CHECK(t, "{\"X\":{}}", "F");
  CHECK(t, "{\"X\":null}", "F");
  CHECK(t, "{\"X\":false}", "F");
  CHECK(t, "{}", "F");
  CHECK(t, "{\"X\":\"0\"}", "T");
  CHECK(t, "{\"X\":[0]}", "T");
  CHECK(t, "{\"X\":-1}", "T");
  CHECK(t, "{\"X\":{\"a\":0}}", "T");
}

static void test_with(void **st) {
  CHECK("{{with .State}}{{.Status}}{{end}}", NULL, "running");
  CHECK("{{with .E}}x{{else}}empty{{end}}", NULL, "empty");
  CHECK("{{with $s := .State}}{{$s.ExitCode}}{{end}}", NULL, "0");
}

static void test_else_with(void **st) {
  CHECK("{{with .E}}a{{else with .Name}}{{.}}{{else}}c{{end}}", NULL, "web");
  CHECK("{{with .E}}a{{else with .Z}}b{{else}}c{{end}}", NULL, "c");
}

/* ---------- range ---------- */

static void test_range_array(void **st) { CHECK("{{range .L}}[{{.}}]{{end}}", NULL, "[a][b][c]"); }

static void test_range_index_value(void **st) {
  CHECK("{{range $i, $v := .L}}{{$i}}={{$v}} {{end}}", NULL, "0=a 1=b 2=c ");
  CHECK("{{range $v := .L}}{{$v}}{{end}}", NULL, "abc");
}

static void test_range_map_sorted(void **st) {
  CHECK("{{range $k, $v := .M}}{{$k}}={{$v}};{{end}}", NULL, "a=1;b=2;");
  CHECK("{{range .M}}{{.}}{{end}}", NULL, "12");
}

static void test_range_else(void **st) {
  CHECK("{{range .Empty}}x{{else}}none{{end}}", NULL, "none");
  CHECK("{{range .Missing}}x{{else}}none{{end}}", NULL, "none");
  CHECK("{{range .Nul}}x{{else}}none{{end}}", NULL, "none");
}

static void test_range_break_continue(void **st) {
  CHECK("{{range .L}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}", NULL, "a");
  CHECK("{{range .L}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}", NULL, "ac");
}

static void test_range_int(void **st) {
  CHECK("{{range 3}}{{.}}{{end}}", NULL, "012");
  CHECK("{{range $i, $v := 2}}{{end}}", NULL,
        "ERR template: :1:18: executing \"\" at <2>: can't use 2 to iterate over more than one variable");
}

static void test_range_bad(void **st) {
  CHECK("{{range .Name}}{{end}}", NULL,
        "ERR template: :1:8: executing \"\" at <.Name>: range can't iterate over web");
}

static void test_range_nested_dollar(void **st) {
  CHECK("{{range $i, $a := .Outer}}{{range .}}{{$i}}{{.}}{{$.Name}} {{end}}{{end}}", NULL,
        "01web 02web 13web ");
}

/* ---------- variables ---------- */

static void test_variables(void **st) {
  CHECK("{{$x := .Name}}{{$x}}", NULL, "web");
  CHECK("{{$x := 1}}{{$x = 2}}{{$x}}", NULL, "2");
  CHECK("{{$s := .State}}{{$s.Status}}", NULL, "running");
  CHECK("{{$}}", "\"root\"", "root");
}

static void test_variable_scope(void **st) {
  CHECK("{{if .T}}{{$y := 1}}{{end}}{{$y}}", NULL, "ERR template: :1: undefined variable \"$y\"");
  /* assignment inside a block changes the outer variable */
  CHECK("{{$x := 1}}{{if .T}}{{$x = 5}}{{end}}{{$x}}", NULL, "5");
  /* a declaration inside shadows only until end */
  CHECK("{{$x := 1}}{{range .L}}{{$x := .}}{{end}}{{$x}}", NULL, "1");
}

/* ---------- pipelines, parens, chains ---------- */

static void test_pipeline(void **st) {
  CHECK("{{.Name | printf \"%s!\"}}", NULL, "web!");
  CHECK("{{\"x\" | printf \"%s-%s\" \"a\"}}", NULL, "a-x");
  CHECK("{{.Name | upper | printf \"<%s>\"}}", NULL, "<WEB>");
}

static void test_parens_and_chain(void **st) {
  CHECK("{{(index .L 1)}}", NULL, "b");
  CHECK("{{(.State).Status}}", NULL, "running");
  CHECK("{{len (split .Image \":\")}}", NULL, "2");
  CHECK("{{(index .Nested.a 1)}}", NULL, "20");
}

/* ---------- trimming and comments ---------- */

static void test_trim(void **st) {
  CHECK("a  {{- .Name -}}  b", NULL, "awebb");
  CHECK("a \n {{- .Name}} b", NULL, "aweb b");
  CHECK("a {{.Name -}} \n\t b", NULL, "a webb");
  CHECK("a {{-3}}", NULL, "a -3");
  CHECK("{{range .L -}}\n  {{.}}\n{{- end}}", NULL, "abc");
}

static void test_comments(void **st) {
  CHECK("a{{/* c */}}b", NULL, "ab");
  CHECK("a {{- /* c */ -}} b", NULL, "ab");
  CHECK("a{{/* multi\nline */}}b", NULL, "ab");
  CHECK("{{/* c", NULL, "ERR template: :1: unclosed comment");
  CHECK("{{/* c */ .Name}}", NULL, "ERR template: :1: comment ends before closing delimiter");
}

static void test_newline_in_action(void **st) { CHECK("{{.Name\n}}", NULL, "web"); }

/* ---------- Docker's functions ---------- */

static void test_json(void **st) {
  CHECK("{{json .S}}", NULL, "{\"k\":\"v\"}");
  CHECK("{{json .}}", "{\"b\":1,\"a\":\"<x&y>\"}", "{\"a\":\"<x&y>\",\"b\":1}");
  CHECK("{{json .Name}}", NULL, "\"web\"");
  CHECK("{{json .Missing}}", NULL, "null");
  CHECK("{{json .L}}", NULL, "[\"a\",\"b\",\"c\"]");
  CHECK("{{json .}}", "[0.1,1.0,1e21,1e-7,true,null,\"a\\nb\\u0001\"]",
        "[0.1,1,1e+21,1e-7,true,null,\"a\\nb\\u0001\"]");
  CHECK("{{json .}}", "\"\xe2\x80\xa8\"", "\"\\u2028\"");
}

static void test_join(void **st) {
  CHECK("{{join .L \",\"}}", NULL, "a,b,c");
  CHECK("{{join .Empty \",\"}}", NULL, "");
  CHECK("{{join .Name \",\"}}", NULL,
        "ERR template: :1:7: executing \"\" at <.Name>: wrong type for value; expected []string; got string");
}

static void test_lower_upper_title(void **st) {
  CHECK("{{lower \"Hello World\"}}|{{upper \"Hello World\"}}", NULL, "hello world|HELLO WORLD");
  CHECK("{{title \"hello wORLD foo-bar a_b\"}}", NULL, "Hello WORLD Foo-Bar A_b");
}

static void test_split(void **st) {
  CHECK("{{split \"a:b:c\" \":\"}}", NULL, "[a b c]");
  CHECK("{{index (split .Image \":\") 0}}", NULL, "busybox");
  CHECK("{{split \"abc\" \"\"}}", NULL, "[a b c]");
  CHECK("{{len (split \"\" \",\")}}", NULL, "1");
}

static void test_truncate(void **st) {
  CHECK("{{truncate \"abcdef\" 3}}|{{truncate \"ab\" 3}}|{{truncate \"abc\" 3}}", NULL, "abc|ab|abc");
  CHECK("{{truncate .Name \"x\"}}", NULL,
        "ERR template: :1:17: executing \"\" at <\"x\">: expected integer; found \"x\"");
}

static void test_pad(void **st) {
  CHECK("[{{pad \"x\" 2 1}}]", NULL, "[  x ]");
  CHECK("[{{pad \"\" 2 1}}]", NULL, "[]");
}

static void test_println_print(void **st) {
  CHECK("{{println \"a\" 1}}", NULL, "a 1\n");
  CHECK("{{print \"a\" 1 2 \"b\"}}", NULL, "a1 2b");
  CHECK("{{print .Missing}}", NULL, "<nil>");
  CHECK("{{range .L}}{{println .}}{{end}}", NULL, "a\nb\nc\n");
}

/* ---------- printf ---------- */

static void test_printf_basic_verbs(void **st) {
  CHECK("{{printf \"%s|%d|%v|%q|%t|%f|%x\" \"a\" 5 .L \"q\" true 1.5 255}}", NULL,
        "a|5|[a b c]|\"q\"|true|1.500000|ff");
}

static void test_printf_width_flags(void **st) {
  CHECK("{{printf \"[%5s][%-5s][%05d][%.2f][%8.3f][%6.2f]\" \"ab\" \"ab\" 42 3.14159 2.5 3.14159}}", NULL,
        "[   ab][ab   ][00042][3.14][   2.500][  3.14]");
  CHECK("{{printf \"%+d|%x|%X|%o|%c|%.3s|%08.3f\" 5 -255 \"hi\" 8 65 \"abcdef\" -3.14159}}", NULL,
        "+5|-ff|6869|10|A|abc|-003.142");
}

static void test_printf_bad(void **st) {
  CHECK("{{printf \"%d\" \"x\"}}", NULL, "%!d(string=x)");
  CHECK("{{printf \"%d %d\" 1}}", NULL, "1 %!d(MISSING)");
  CHECK("{{printf \"a\" 1}}", NULL, "a%!(EXTRA int=1)");
  CHECK("{{printf \"%s\" 5}}", NULL, "%!s(int=5)");
  CHECK("{{printf \"%d\" 1.5}}", NULL, "%!d(float64=1.5)");
  CHECK("{{printf \"100%%\"}}", NULL, "100%");
  CHECK("{{printf \"%d\" .Nul}}", NULL, "%!d(<nil>)");
}

static void test_printf_misc(void **st) {
  CHECK("{{printf \"%v %T %T\" .M .N .L}}", NULL, "map[a:1 b:2] int []interface {}");
  CHECK("{{printf \"%q\" \"a\\\"b\\n\"}}", NULL, "\"a\\\"b\\n\"");
  CHECK("{{printf \"%e|%g|%g|%v\" 1234.5 0.1 1e7 .F}}", NULL, "1.234500e+03|0.1|1e+07|1.5");
  CHECK("{{printf \"%5d|%-4d|\" 42 7}}", NULL, "   42|7   |");
  CHECK("{{printf \"%s\" .L}}", NULL, "[a b c]");
}

/* ---------- Go builtins ---------- */

static void test_index(void **st) {
  CHECK("{{index .L 1}}", NULL, "b");
  CHECK("{{index .M \"b\"}}", NULL, "2");
  CHECK("{{index .Nested \"a\" 0}}", NULL, "10");
  CHECK("[{{index .S \"nope\"}}]", NULL, "[]");
  CHECK("{{index .M \"nope\"}}", NULL, "<nil>");
  CHECK("{{index \"abc\" 1}}", NULL, "98");
}

static void test_index_errors(void **st) {
  CHECK("{{index .L 5}}", NULL,
        "ERR template: :1:2: executing \"\" at <index .L 5>: error calling index: index out of range: 5");
  CHECK("{{index .L \"x\"}}", NULL,
        "ERR template: :1:2: executing \"\" at <index .L \"x\">: error calling index: cannot index slice/array with "
        "type string");
  CHECK("{{index .N 1}}", NULL,
        "ERR template: :1:2: executing \"\" at <index .N 1>: error calling index: can't index item of type int");
  CHECK("{{index .Missing 1}}", NULL,
        "ERR template: :1:2: executing \"\" at <index .Missing 1>: error calling index: index of untyped nil");
}

static void test_len(void **st) {
  CHECK("{{len .L}} {{len \"abc\"}} {{len .M}} {{len .Empty}}", NULL, "3 3 2 0");
  CHECK("{{len .N}}", NULL, "ERR template: :1:2: executing \"\" at <len .N>: error calling len: len of type int");
}

static void test_slice(void **st) {
  CHECK("{{slice \"abcdef\" 1 3}}|{{slice .L 1}}|{{slice .L}}|{{slice .L 1 2 3}}", NULL, "bc|[b c]|[a b c]|[b]");
  CHECK("{{slice .L 3 1}}", NULL,
        "ERR template: :1:2: executing \"\" at <slice .L 3 1>: error calling slice: invalid slice index: 3 > 1");
}

static void test_and_or_not(void **st) {
  CHECK("{{and 1 0}}|{{and 1 2}}|{{or 0 \"\" \"x\"}}|{{or 0 \"\"}}|{{not .Empty}}|{{not 1}}", NULL, "0|2|x||true|false");
  /* short circuit: the failing index is never evaluated */
  CHECK("{{and false (index .L 99)}}|{{or true (index .L 99)}}", NULL, "false|true");
  CHECK("{{if and .T (not .Z)}}ok{{end}}", NULL, "ok");
  CHECK("{{.T | and 1}}", NULL, "true");
}

static void test_eq_ne(void **st) {
  CHECK("{{eq .Name \"web\"}} {{eq .N 1 2 42}} {{eq .N 1}} {{ne .N 1}} {{eq .Missing \"x\"}}", NULL,
        "true true false true false");
  CHECK("{{if eq .State.ExitCode 0}}ok{{end}}", NULL, "ok");
  CHECK("{{eq .T true}} {{eq 1.5 .F}}", NULL, "true true");
}

static void test_eq_errors(void **st) {
  CHECK("{{eq \"a\" 1}}", NULL,
        "ERR template: :1:2: executing \"\" at <eq \"a\" 1>: error calling eq: incompatible types for comparison");
  CHECK("{{eq 1}}", NULL,
        "ERR template: :1:2: executing \"\" at <eq 1>: error calling eq: missing argument for comparison");
}

static void test_lt_le_gt_ge(void **st) {
  CHECK("{{lt 1 2}} {{gt \"b\" \"a\"}} {{le 2 2}} {{ge 1 2}} {{lt 1.5 2}} {{gt 3 2.5}} {{ge \"a\" \"a\"}}", NULL,
        "true true true false true true true");
  CHECK("{{lt true false}}", NULL,
        "ERR template: :1:2: executing \"\" at <lt true false>: error calling lt: invalid type for comparison");
  CHECK("{{lt 1 \"a\"}}", NULL,
        "ERR template: :1:2: executing \"\" at <lt 1 \"a\">: error calling lt: incompatible types for comparison");
}

/* ---------- parse errors (Go: "template: :LINE: msg") ---------- */

static void test_parse_err_unclosed(void **st) {
  CHECK("{{.Foo", NULL, "ERR template: :1: unclosed action");
  CHECK("{{(.A}}", NULL, "ERR template: :1: unclosed left paren");
  CHECK("{{.A)}}", NULL, "ERR template: :1: unexpected right paren");
  CHECK("{{\"abc}}", NULL, "ERR template: :1: unterminated quoted string");
  CHECK("{{`abc}}", NULL, "ERR template: :1: unterminated raw quoted string");
}

static void test_parse_err_function(void **st) {
  CHECK("{{foo}}", NULL, "ERR template: :1: function \"foo\" not defined");
  CHECK("a\nb\n{{.X | bar}}", NULL, "ERR template: :3: function \"bar\" not defined");
}

static void test_parse_err_structure(void **st) {
  CHECK("{{if .A}}", NULL, "ERR template: :1: unexpected EOF");
  CHECK("{{end}}", NULL, "ERR template: :1: unexpected {{end}}");
  CHECK("{{else}}", NULL, "ERR template: :1: unexpected {{else}}");
  CHECK("{{range .A}}{{else}}{{else}}{{end}}", NULL, "ERR template: :1: expected end; found {{else}}");
  CHECK("{{break}}", NULL, "ERR template: :1: {{break}} outside {{range}}");
  CHECK("{{if}}{{end}}", NULL, "ERR template: :1: missing value for if");
  CHECK("{{}}", NULL, "ERR template: :1: missing value for command");
}

static void test_parse_err_tokens(void **st) {
  CHECK("{{3x}}", NULL, "ERR template: :1: bad number syntax: \"3x\"");
  CHECK("{{.A#}}", NULL, "ERR template: :1: bad character U+0023 '#'");
  CHECK("{{$x}}", NULL, "ERR template: :1: undefined variable \"$x\"");
  CHECK("{{.A | 3}}", NULL, "ERR template: :1: non executable command in pipeline stage 2");
  CHECK("{{true.X}}", NULL, "ERR template: :1: unexpected . after term \"true\"");
  CHECK("{{\"\\q\"}}", NULL, "ERR template: :1: invalid syntax");
  CHECK("{{.A : }}", NULL, "ERR template: :1: expected :=");
  CHECK("{{.A , .B}}", NULL, "ERR template: :1: unexpected \",\" in operand");
}

static void test_parse_err_decls(void **st) {
  CHECK("{{range $a, $b, $c := .L}}{{end}}", NULL, "ERR template: :1: too many declarations in range");
  CHECK("{{with $a, $b := .L}}{{end}}", NULL, "ERR template: :1: too many declarations in with");
  /* Go checks assignments only when executing */
  CHECK("{{$x = 1}}", NULL, "ERR template: :1:7: executing \"\" at <1>: undefined variable: $x");
  CHECK("{{..}}", NULL, "ERR template: :1: unexpected <.> in operand");
}

/* ---------- execution errors (Go: "template: :LINE:COL: executing ...") ---------- */

static void test_exec_err_field(void **st) {
  CHECK("{{.Name.Foo}}", NULL,
        "ERR template: :1:7: executing \"\" at <.Name.Foo>: can't evaluate field Foo in type string");
  CHECK("{{.Nul.X}}", NULL, "ERR template: :1:6: executing \"\" at <.Nul.X>: nil pointer evaluating interface {}.X");
}

static void test_exec_err_position_multiline(void **st) {
  CHECK("x\n  {{index .L 9}}", NULL,
        "ERR template: :2:4: executing \"\" at <index .L 9>: error calling index: index out of range: 9");
}

static void test_exec_err_arg_types(void **st) {
  CHECK("{{upper .N}}", NULL, "ERR template: :1:8: executing \"\" at <.N>: wrong type for value; expected string; got int");
  CHECK("{{upper .Missing}}", NULL, "ERR template: :1:8: executing \"\" at <.Missing>: invalid value; expected string");
  CHECK("{{upper 3}}", NULL, "ERR template: :1:8: executing \"\" at <3>: expected string; found 3");
  CHECK("{{upper nil}}", NULL, "ERR template: :1:8: executing \"\" at <nil>: cannot assign nil to string");
}

static void test_exec_err_arg_count(void **st) {
  CHECK("{{upper \"a\" \"b\"}}", NULL,
        "ERR template: :1:2: executing \"\" at <upper>: wrong number of args for upper: want 1 got 2");
  CHECK("{{printf}}", NULL,
        "ERR template: :1:2: executing \"\" at <printf>: wrong number of args for printf: want at least 1 got 0");
}

static void test_exec_err_non_function(void **st) {
  CHECK("{{\"x\" 1}}", NULL, "ERR template: :1:2: executing \"\" at <\"x\">: can't give argument to non-function \"x\"");
  CHECK("{{$x := 1}}{{$x 2}}", NULL,
        "ERR template: :1:13: executing \"\" at <$x>: can't give argument to non-function $x");
}

/* ---------- Docker's method-like fields, header lines, table prefix ---------- */

static void test_field_with_args(void **st) {
  CHECK("{{.Label \"com.x\"}}", NULL, "lx");
  CHECK("[{{.Label \"nope\"}}]", NULL, "[]");
  CHECK("{{\"com.x\" | .Label}}", NULL, "lx");
  CHECK("{{.Name 1}}", NULL, "ERR template: :1:2: executing \"\" at <.Name>: Name is not a method but has arguments");
}

static const char *hdr(const char *f) {
  if (strcmp(f, "ID") == 0)
    return "CONTAINER ID";
  if (strcmp(f, "Image") == 0)
    return "IMAGE";
  return NULL;
}

static void test_header_line(void **st) {
  char *h = tmpl_header_line("{{.ID}}\t{{.Image}}\t{{.Names | upper}}\t{{truncate .Command 10}}\t{{json .Labels}}", hdr);
  assert_string_equal(h, "CONTAINER ID\tIMAGE\tNAMES\tCOMMAND\tLABELS");
  free(h);
  h = tmpl_header_line("{{.ID}}: {{.Size}}", NULL);
  assert_string_equal(h, "ID: SIZE");
  free(h);
  /* docker context ls's default: conditions on unmapped fields are false */
  h = tmpl_header_line("{{.ID}}{{if .Current}} *{{end}}\t{{range .Ports}}x{{end}}{{with .Image}}{{.}}{{end}}", hdr);
  assert_string_equal(h, "CONTAINER ID\tIMAGE");
  free(h);
  h = tmpl_header_line("{{pad .ID 1 1}}|{{.Label \"com.x\"}}", hdr);
  assert_string_equal(h, " CONTAINER ID |LABEL");
  free(h);
}

static void test_table_prefix(void **st) {
  const char *rest = NULL;
  assert_true(tmpl_table_prefix("table {{.ID}}", &rest));
  assert_string_equal(rest, "{{.ID}}");
  assert_true(tmpl_table_prefix("table", &rest));
  assert_string_equal(rest, "");
  assert_false(tmpl_table_prefix("{{.ID}}", &rest));
  assert_false(tmpl_table_prefix("json", &rest));
}

static void test_docker_format(void **st) {
  bool table = false;
  char *f = tmpl_docker_format("table {{.ID}}\\t{{.Name}}\\n ", &table);
  assert_true(table);
  assert_string_equal(f, "{{.ID}}\t{{.Name}}\n");
  free(f);
  f = tmpl_docker_format(" {{.ID}} ", &table);
  assert_false(table);
  assert_string_equal(f, "{{.ID}}");
  free(f);
}

/* ---------- robustness ---------- */

static void test_deep_nesting(void **st) {
  size_t n = 3000;
  char *t = xmalloc(2 * n + 10);
  size_t k = 0;
  t[k++] = '{', t[k++] = '{';
  for (size_t i = 0; i < n; i++)
    t[k++] = '(';
  t[k++] = '1';
  for (size_t i = 0; i < n; i++)
    t[k++] = ')';
  t[k++] = '}', t[k++] = '}', t[k] = '\0';
  char *o = render(t, NULL);
  assert_string_equal(o, "ERR template: :1: max expression depth exceeded");
  free(o);
  free(t);
  CHECK("{{((((1))))}}", NULL, "1");
}

static void test_reuse_and_partial_error(void **st) {
  struct tmpl *t = NULL;
  struct berr *err = NULL;
  assert_int_equal(tmpl_parse("a{{.X}}{{index .L 3}}", &t, &err), 0);
  json_t *ok = json_pack("{s:i,s:[i,i,i,i]}", "X", 1, "L", 1, 2, 3, 4);
  json_t *bad = json_pack("{s:i,s:[]}", "X", 2, "L");
  char *out = NULL;
  assert_int_equal(tmpl_exec(t, ok, &out, &err), 0);
  assert_string_equal(out, "a14");
  free(out);
  out = NULL;
  assert_true(tmpl_exec(t, bad, &out, &err) < 0);
  assert_null(out);
  assert_non_null(err);
  berr_free(err);
  err = NULL;
  assert_int_equal(tmpl_exec(t, ok, &out, &err), 0);
  assert_string_equal(out, "a14");
  free(out);
  json_decref(ok);
  json_decref(bad);
  tmpl_free(t);
}

/* Random and mutated templates must parse or fail cleanly (ASan watches). */
static void test_fuzz(void **st) {
  static const char *pieces[] = {
      "{{", "}}", "{{-", " -}}", ".A", ".B.C", "$", "$x", ":=", "=", "|", "(", ")", "\"s\"", "`r`", "'c'",
      "1", "-2.5", "0x2", "if", "else", "end", "range", "with", "break", "continue", "nil", "true", "index",
      "printf", "\"%d %s %v\"", "len", "slice", "eq", "and", "or", "json", "join", "split", "pad", "truncate",
      " ", "\n", ",", "/*", "*/", "x", "\\", "\"", "#", "\xff", "}", "{",
  };
  const size_t np = sizeof pieces / sizeof pieces[0];
  json_t *data = json_loads(D, 0, NULL);
  uint32_t seed = 12345;
  for (int iter = 0; iter < 20000; iter++) {
    char buf[512];
    size_t len = 0;
    int parts = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 24;
    for (int i = 0; i < parts; i++) {
      const char *p = pieces[((seed = seed * 1103515245 + 12345) >> 16) % np];
      size_t pl = strlen(p);
      if (len + pl + 1 >= sizeof buf)
        break;
      memcpy(buf + len, p, pl);
      len += pl;
    }
    buf[len] = '\0';
    struct tmpl *t = NULL;
    struct berr *err = NULL;
    if (tmpl_parse(buf, &t, &err) == 0) {
      char *out = NULL;
      if (tmpl_exec(t, data, &out, &err) == 0)
        assert_non_null(out);
      free(out);
      char *h = tmpl_header_line(buf, NULL);
      free(h);
    } else {
      assert_non_null(err);
      assert_true(str_has_prefix(err->msg, "template: "));
    }
    berr_free(err);
    tmpl_free(t);
  }
  json_decref(data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_only),
      cmocka_unit_test(test_field),
      cmocka_unit_test(test_nested_field),
      cmocka_unit_test(test_missing_key),
      cmocka_unit_test(test_dot),
      cmocka_unit_test(test_print_array),
      cmocka_unit_test(test_print_map),
      cmocka_unit_test(test_print_null),
      cmocka_unit_test(test_print_scalars),
      cmocka_unit_test(test_string_literals),
      cmocka_unit_test(test_number_literals),
      cmocka_unit_test(test_bool_literals),
      cmocka_unit_test(test_nil_command),
      cmocka_unit_test(test_if_else),
      cmocka_unit_test(test_else_if),
      cmocka_unit_test(test_truthiness),
      cmocka_unit_test(test_with),
      cmocka_unit_test(test_else_with),
      cmocka_unit_test(test_range_array),
      cmocka_unit_test(test_range_index_value),
      cmocka_unit_test(test_range_map_sorted),
      cmocka_unit_test(test_range_else),
      cmocka_unit_test(test_range_break_continue),
      cmocka_unit_test(test_range_int),
      cmocka_unit_test(test_range_bad),
      cmocka_unit_test(test_range_nested_dollar),
      cmocka_unit_test(test_variables),
      cmocka_unit_test(test_variable_scope),
      cmocka_unit_test(test_pipeline),
      cmocka_unit_test(test_parens_and_chain),
      cmocka_unit_test(test_trim),
      cmocka_unit_test(test_comments),
      cmocka_unit_test(test_newline_in_action),
      cmocka_unit_test(test_json),
      cmocka_unit_test(test_join),
      cmocka_unit_test(test_lower_upper_title),
      cmocka_unit_test(test_split),
      cmocka_unit_test(test_truncate),
      cmocka_unit_test(test_pad),
      cmocka_unit_test(test_println_print),
      cmocka_unit_test(test_printf_basic_verbs),
      cmocka_unit_test(test_printf_width_flags),
      cmocka_unit_test(test_printf_bad),
      cmocka_unit_test(test_printf_misc),
      cmocka_unit_test(test_index),
      cmocka_unit_test(test_index_errors),
      cmocka_unit_test(test_len),
      cmocka_unit_test(test_slice),
      cmocka_unit_test(test_and_or_not),
      cmocka_unit_test(test_eq_ne),
      cmocka_unit_test(test_eq_errors),
      cmocka_unit_test(test_lt_le_gt_ge),
      cmocka_unit_test(test_parse_err_unclosed),
      cmocka_unit_test(test_parse_err_function),
      cmocka_unit_test(test_parse_err_structure),
      cmocka_unit_test(test_parse_err_tokens),
      cmocka_unit_test(test_parse_err_decls),
      cmocka_unit_test(test_exec_err_field),
      cmocka_unit_test(test_exec_err_position_multiline),
      cmocka_unit_test(test_exec_err_arg_types),
      cmocka_unit_test(test_exec_err_arg_count),
      cmocka_unit_test(test_exec_err_non_function),
      cmocka_unit_test(test_field_with_args),
      cmocka_unit_test(test_header_line),
      cmocka_unit_test(test_table_prefix),
      cmocka_unit_test(test_docker_format),
      cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_reuse_and_partial_error),
      cmocka_unit_test(test_fuzz),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
