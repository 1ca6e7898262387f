#include <gtest/gtest.h>

#include "cli/format/template.h"

using namespace berth::cli::format;

namespace {

std::string run(const std::string& text, const Value& data, const ExecOptions& opts = {}) {
  auto t = Template::parse(text);
  if (!t) return "PARSE ERROR: " + t.error().message;
  auto r = t->execute(data, opts);
  if (!r) return "EXEC ERROR: " + r.error().message;
  return *r;
}

std::string parseError(const std::string& text) {
  auto t = Template::parse(text);
  if (t) return "parsed";
  return t.error().message;
}

std::string execError(const std::string& text, const Value& data) {
  auto t = Template::parse(text);
  if (!t) return "PARSE ERROR: " + t.error().message;
  auto r = t->execute(data);
  if (r) return "ok: " + *r;
  return r.error().message;
}

Value container() {
  return Value::parse(R"({
    "Id":"5181709d33f1aaaa","Name":"/web","Names":["/web","/alias"],
    "State":{"Status":"running","Running":true,"Pid":4242,"ExitCode":0},
    "Config":{"Image":"busybox","Cmd":["sleep","1000"],"Env":null,
              "Labels":{"com.example.b":"2","a":"1"}},
    "SizeRootFs":1982333,"Ratio":0.5,"Big":9007199254740993,"Empty":"","Zero":0,
    "Mounts":[{"Type":"volume","Name":"v1"},{"Type":"bind","Name":""}]
  })");
}

}  // namespace

TEST(CliFormatTemplate, TextAndFields) {
  Value d = container();
  EXPECT_EQ(run("hello", d), "hello");
  EXPECT_EQ(run("{{.Name}}", d), "/web");
  EXPECT_EQ(run("{{.State.Status}} pid={{.State.Pid}}", d), "running pid=4242");
  EXPECT_EQ(run("{{.Config.Image}}", d), "busybox");
  EXPECT_EQ(run("{{.Nope}}", d), "<no value>");
  EXPECT_EQ(run("{{.Nope.Deeper}}", d), "<no value>");
  EXPECT_EQ(run("{{.State.Running}}", d), "true");
  EXPECT_EQ(run("{{.}}", Value("plain")), "plain");
}

TEST(CliFormatTemplate, GoValuePrinting) {
  Value d = container();
  EXPECT_EQ(run("{{.Names}}", d), "[/web /alias]");
  EXPECT_EQ(run("{{.Config.Cmd}}", d), "[sleep 1000]");
  EXPECT_EQ(run("{{.Config.Labels}}", d), "map[a:1 com.example.b:2]");
  EXPECT_EQ(run("{{.Mounts}}", d), "[map[Name:v1 Type:volume] map[Name: Type:bind]]");
  EXPECT_EQ(run("{{.SizeRootFs}}", d), "1982333");
  EXPECT_EQ(run("{{.Big}}", d), "9007199254740993");
  EXPECT_EQ(run("{{.Ratio}}", d), "0.5");
  EXPECT_EQ(run("{{.Config.Env}}", d), "<nil>");
  EXPECT_EQ(run("{{1e6}} {{1.5}} {{100000.0}} {{0.00001}} {{3}}", d), "1e+06 1.5 100000 1e-05 3");
  EXPECT_EQ(run("{{.X}}", Value::parse(R"({"X":1234567.0})")), "1.234567e+06");
  ExecOptions opts;
  opts.nullText = "[]";
  EXPECT_EQ(run("{{.Config.Env}}", d, opts), "[]");
}

TEST(CliFormatTemplate, JsonFunction) {
  Value d = container();
  EXPECT_EQ(run("{{json .State}}", d), R"({"Status":"running","Running":true,"Pid":4242,"ExitCode":0})");
  EXPECT_EQ(run("{{json .Config.Cmd}}", d), R"(["sleep","1000"])");
  EXPECT_EQ(run("{{json .Config.Env}}", d), "null");
  EXPECT_EQ(run("{{json .Nope}}", d), "null");
  EXPECT_EQ(run("{{json .Name}}", d), R"("/web")");
  // Go's encoder with SetEscapeHTML(false); floats as Go writes them
  Value x = Value::parse(R"({"s":"<a&b>\u2028\n\t\u0001","f":1e21,"g":1000000.0,"h":1e-7,"i":0.25})");
  EXPECT_EQ(run("{{json .}}", x), R"({"s":"<a&b>\u2028\n\t\u0001","f":1e+21,"g":1000000,"h":1e-7,"i":0.25})");
  // nlohmann::json input: keys sorted like a Go map
  auto t = Template::parse("{{json .}}");
  ASSERT_TRUE(t);
  nlohmann::json plain = {{"b", 1}, {"a", 2}};
  EXPECT_EQ(*t->execute(plain), R"({"a":2,"b":1})");
}

TEST(CliFormatTemplate, DockerFunctions) {
  Value d = container();
  EXPECT_EQ(run("{{join .Config.Cmd \" \"}}", d), "sleep 1000");
  EXPECT_EQ(run("{{join .Names \",\"}}", d), "/web,/alias");
  EXPECT_EQ(run("{{split \"a,b,c\" \",\"}}", d), "[a b c]");
  EXPECT_EQ(run("{{index (split \"a:b\" \":\") 1}}", d), "b");
  EXPECT_EQ(run("{{upper .State.Status}} {{lower \"ABC\"}} {{title \"hello world\"}}", d), "RUNNING abc Hello World");
  EXPECT_EQ(run("{{.Name | upper}}", d), "/WEB");
  EXPECT_EQ(run("[{{pad .State.Status 2 3}}]", d), "[  running   ]");
  EXPECT_EQ(run("[{{pad .Empty 2 3}}]", d), "[]");
  EXPECT_EQ(run("{{truncate .Id 12}}", d), "5181709d33f1");
  EXPECT_EQ(run("{{truncate \"abc\" 12}}", d), "abc");
}

TEST(CliFormatTemplate, BuiltinFunctions) {
  Value d = container();
  EXPECT_EQ(run("{{index .Config.Labels \"a\"}}", d), "1");
  EXPECT_EQ(run("{{index .Config.Labels \"missing\"}}", d), "");  // map[string]string zero value
  EXPECT_EQ(run("{{index .Names 1}}", d), "/alias");
  EXPECT_EQ(run("{{len .Names}} {{len .Name}} {{len .Config.Labels}}", d), "2 4 2");
  EXPECT_EQ(run("{{printf \"%s-%d-%v-%q\" .Name .State.Pid .State.Running .Name}}", d), "/web-4242-true-\"/web\"");
  EXPECT_EQ(run("{{printf \"%5s|%-5s|%05d|%x|%.2f\" \"ab\" \"cd\" 42 255 .Ratio}}", d), "   ab|cd   |00042|ff|0.50");
  EXPECT_EQ(run("{{printf \"%d\" .Name}}", d), "%!d(string=/web)");
  EXPECT_EQ(run("{{printf \"%s %s\" \"a\"}}", d), "a %!s(MISSING)");
  EXPECT_EQ(run("{{printf \"%s\" \"a\" 1}}", d), "a%!(EXTRA int=1)");
  EXPECT_EQ(run("{{printf \"%v\" .Names}}", d), "[/web /alias]");
  EXPECT_EQ(run("{{printf \"100%%\"}}", d), "100%");
  EXPECT_EQ(run("{{print \"a\" 1 2 \"b\"}}", d), "a1 2b");
  EXPECT_EQ(run("{{println \"a\" 1}}", d), "a 1\n");
  EXPECT_EQ(run("{{slice .Name 1 3}}", d), "we");
  EXPECT_EQ(run("{{html \"<a>\"}} {{urlquery \"a b&c\"}}", d), "&lt;a&gt; a+b%26c");
}

TEST(CliFormatTemplate, Comparisons) {
  Value d = container();
  EXPECT_EQ(run("{{eq .State.Status \"running\"}}", d), "true");
  EXPECT_EQ(run("{{eq .State.Status \"exited\" \"running\"}}", d), "true");
  EXPECT_EQ(run("{{ne .State.Pid 0}}", d), "true");
  EXPECT_EQ(run("{{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge 2 3}}", d), "true true false false");
  EXPECT_EQ(run("{{lt \"a\" \"b\"}}", d), "true");
  EXPECT_EQ(run("{{and 1 0}} {{and 1 2}} {{or 0 \"\"}} {{or 0 \"x\"}} {{not .Empty}}", d), "0 2  x true");
  EXPECT_EQ(run("{{if and .State.Running (eq .State.ExitCode 0)}}ok{{end}}", d), "ok");
  EXPECT_EQ(execError("{{eq .Name 1}}", d),
            "template: :1:2: executing \"\" at <eq .Name 1>: error calling eq: incompatible types for comparison");
  // and/or short-circuit: the failing call is never made
  EXPECT_EQ(run("{{or 1 (index .Names 5)}}", d), "1");
}

TEST(CliFormatTemplate, IfElse) {
  Value d = container();
  EXPECT_EQ(run("{{if .State.Running}}up{{else}}down{{end}}", d), "up");
  EXPECT_EQ(run("{{if .Empty}}x{{else}}empty{{end}}", d), "empty");
  EXPECT_EQ(run("{{if .Nope}}x{{else if .Zero}}y{{else if .Name}}z{{else}}w{{end}}", d), "z");
  EXPECT_EQ(run("{{if .Config.Env}}x{{else}}null is false{{end}}", d), "null is false");
  EXPECT_EQ(run("{{with .State}}{{.Status}}{{end}}", d), "running");
  EXPECT_EQ(run("{{with .Nope}}x{{else}}none{{end}}", d), "none");
  EXPECT_EQ(run("{{with .Nope}}x{{else with .State}}{{.Pid}}{{end}}", d), "4242");
  EXPECT_EQ(run("{{if .Nope}}a{{else}}{{if .Name}}b{{end}}{{end}}", d), "b");
}

TEST(CliFormatTemplate, RangeAndVariables) {
  Value d = container();
  EXPECT_EQ(run("{{range .Names}}[{{.}}]{{end}}", d), "[/web][/alias]");
  EXPECT_EQ(run("{{range $i, $n := .Names}}{{$i}}={{$n}} {{end}}", d), "0=/web 1=/alias ");
  EXPECT_EQ(run("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", d), "a=1;com.example.b=2;");
  EXPECT_EQ(run("{{range .Mounts}}{{.Type}}:{{$.Name}} {{end}}", d), "volume:/web bind:/web ");
  EXPECT_EQ(run("{{range .Config.Env}}x{{else}}no env{{end}}", d), "no env");
  EXPECT_EQ(run("{{range .Nope}}x{{else}}none{{end}}", d), "none");
  EXPECT_EQ(run("{{$x := .State.Status}}{{$x}}-{{$x = \"b\"}}{{$x}}", d), "running-b");
  EXPECT_EQ(run("{{range $i, $e := .Names}}{{if eq $i 1}}{{break}}{{end}}{{$e}}{{end}}", d), "/web");
  EXPECT_EQ(run("{{range .Names}}{{if eq . \"/web\"}}{{continue}}{{end}}{{.}}{{end}}", d), "/alias");
  EXPECT_EQ(run("{{range 3}}{{.}}{{end}}", d), "012");
  EXPECT_EQ(run("{{$n := 0}}{{range .Names}}{{$n = len .}}{{end}}{{$n}}", d), "6");
}

TEST(CliFormatTemplate, TrimMarkersAndComments) {
  Value d = container();
  EXPECT_EQ(run("a  {{- .State.Status -}}  b", d), "arunningb");
  EXPECT_EQ(run("{{range .Names -}}\n  {{.}}\n{{- end}}", d), "/web/alias");
  EXPECT_EQ(run("x{{/* comment */}}y", d), "xy");
  EXPECT_EQ(run("x {{- /* comment */ -}} y", d), "xy");
  EXPECT_EQ(run("{{-3}}", d), "-3");
}

TEST(CliFormatTemplate, DefineAndTemplate) {
  Value d = container();
  EXPECT_EQ(run("{{define \"s\"}}<{{.Status}}>{{end}}{{template \"s\" .State}}", d), "<running>");
  EXPECT_EQ(run("{{block \"b\" .Name}}[{{.}}]{{end}}", d), "[/web]");
}

TEST(CliFormatTemplate, Literals) {
  Value d = container();
  EXPECT_EQ(run("{{\"a\\tb\"}}|{{`raw\\n`}}|{{'a'}}|{{0x1F}}|{{true}}", d), "a\tb|raw\\n|97|31|true");
}

TEST(CliFormatTemplate, ParseErrorsLikeGo) {
  EXPECT_EQ(parseError("{{foo .}}"), "template: :1: function \"foo\" not defined");
  EXPECT_EQ(parseError("{{.Name"), "template: :1: unclosed action");
  EXPECT_EQ(parseError("{{if .X}}a"), "template: :1: unexpected EOF");
  EXPECT_EQ(parseError("{{end}}"), "template: :1: unexpected {{end}}");
  EXPECT_EQ(parseError("{{else}}"), "template: :1: unexpected {{else}}");
  EXPECT_EQ(parseError("{{}}"), "template: :1: missing value for command");
  EXPECT_EQ(parseError("{{.X}"), "template: :1: unexpected \"}\" in operand");
  EXPECT_EQ(parseError("{{$x}}"), "template: :1: undefined variable \"$x\"");
  EXPECT_EQ(parseError("a\n{{foo}}"), "template: :2: function \"foo\" not defined");
  EXPECT_EQ(parseError("{{\"abc}}"), "template: :1: unterminated quoted string");
  EXPECT_EQ(parseError("{{break}}"), "template: :1: {{break}} outside {{range}}");
  EXPECT_EQ(parseError("{{.X | 3}}"), "template: :1: non executable command in pipeline stage 2");
}

TEST(CliFormatTemplate, ExecErrorsLikeGo) {
  Value d = container();
  EXPECT_EQ(execError("{{.Name.Foo}}", d),
            "template: :1:7: executing \"\" at <.Name.Foo>: can't evaluate field Foo in type string");
  EXPECT_EQ(execError("{{index .Names 5}}", d),
            "template: :1:2: executing \"\" at <index .Names 5>: error calling index: index out of range: 5");
  EXPECT_EQ(execError("{{upper 1 2}}", d), "template: :1:2: executing \"\" at <upper>: wrong number of args for upper: want 1 got 2");
  EXPECT_EQ(execError("{{.Config.Env.X}}", d),
            "template: :1:9: executing \"\" at <.Config.Env.X>: nil pointer evaluating interface {}.X");
  EXPECT_EQ(execError("{{template \"nope\"}}", d), "template: :1:11: executing \"\" at <{{template \"nope\"}}>: no such template \"nope\"");
}

TEST(CliFormatTemplate, MethodsAndExtraFunctions) {
  Value d = container();
  ExecOptions opts;
  opts.methods["Label"] = [](const Value& recv, const std::vector<Value>& args) -> berth::Result<Value> {
    const auto& labels = recv["Config"]["Labels"];
    std::string key = args.at(0).get<std::string>();
    return labels.contains(key) ? labels[key] : Value("");
  };
  EXPECT_EQ(run("{{.Label \"com.example.b\"}}", d, opts), "2");
  ParseOptions popts;
  popts.funcs["double"] = [](const std::vector<Value>& a) -> berth::Result<Value> {
    return Value(a.at(0).get<int64_t>() * 2);
  };
  auto t = Template::parse("{{double 21}} {{.State.Pid | double}}", popts);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t->execute(d), "42 8484");
}

TEST(CliFormatTemplate, TableHelpers) {
  EXPECT_TRUE(isTableFormat("table {{.ID}}"));
  EXPECT_TRUE(isTableFormat("table"));
  EXPECT_FALSE(isTableFormat("{{.ID}}"));
  EXPECT_TRUE(isJsonFormat("json"));
  EXPECT_EQ(prepareFormat("table {{.ID}}\\t{{.Image}}"), "{{.ID}}\t{{.Image}}");
  EXPECT_EQ(prepareFormat("{{.ID}}\\n"), "{{.ID}}\n");
  EXPECT_EQ(prepareFormat("json"), "{{json .}}");
  EXPECT_EQ(prepareFormat("table"), "");
  EXPECT_EQ(headerFor(".ID", containerHeaders()), "CONTAINER ID");
  EXPECT_EQ(headerFor("ID", imageHeaders()), "IMAGE ID");
  EXPECT_EQ(headerFor("RunningFor", containerHeaders()), "CREATED");
  EXPECT_EQ(headerFor("CreatedSince", imageHeaders()), "CREATED");
  EXPECT_EQ(headerFor("State.Status", containerHeaders()), "STATUS");
  EXPECT_EQ(headerFor("Whatever", containerHeaders()), "WHATEVER");
  auto t = Template::parse("{{.ID}}\t{{upper .Image}}\t{{.Foo}}");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->executeHeader(containerHeaders()), "CONTAINER ID\tIMAGE\t<no value>");
}

TEST(CliFormatTemplate, FormatListTable) {
  std::vector<Value> items = {Value::parse(R"({"ID":"5181709d33f1","Image":"busybox:local","Names":"web"})"),
                              Value::parse(R"({"ID":"ab","Image":"alpine","Names":"db"})")};
  auto r = formatList("table {{.ID}}\\t{{.Image}}\\t{{.Names}}", items, containerHeaders());
  ASSERT_TRUE(r);
  EXPECT_EQ(*r,
            "CONTAINER ID   IMAGE           NAMES\n"
            "5181709d33f1   busybox:local   web\n"
            "ab             alpine          db\n");
  auto plain = formatList("{{.ID}}\\t{{.Names}}", items, containerHeaders());
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, "5181709d33f1\tweb\nab\tdb\n");
  auto json = formatList("json", {items[1]}, containerHeaders());
  EXPECT_EQ(*json, "{\"ID\":\"ab\",\"Image\":\"alpine\",\"Names\":\"db\"}\n");
  auto empty = formatList("table {{.ID}}", {}, containerHeaders());
  EXPECT_EQ(*empty, "CONTAINER ID\n");
  auto bad = formatList("{{foo}}", items, containerHeaders());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "template parsing error: template: :1: function \"foo\" not defined");
}

TEST(CliFormatTemplate, GoQuote) {
  EXPECT_EQ(goQuote("abc"), "\"abc\"");
  EXPECT_EQ(goQuote("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\x01\"");
  EXPECT_EQ(goQuote("héllo…"), "\"héllo…\"");
  EXPECT_EQ(goQuote("\xff"), "\"\\xff\"");
}
