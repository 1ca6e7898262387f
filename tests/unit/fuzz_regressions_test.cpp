// Inputs the fuzz targets of tests/fuzz found to crash berth or to hit
// undefined behaviour, each fed to the code it broke (the inputs are also in
// the targets' seed corpora, tests/fuzz/corpus/).

#include <gtest/gtest.h>

#include <climits>

#include "api/http.h"
#include "api/request_target.h"
#include "cli/format/human.h"
#include "cli/format/template.h"

using namespace berth::api;
namespace format = berth::cli::format;

// fuzz_http: "GET /v99999999.1/info" overflowed int in versionNumber
// (99999999 * 100; UBSan: signed integer overflow).
TEST(FuzzRegressions, HugeApiVersionSaturates) {
  EXPECT_EQ(apiVersionNumber("99999999.1"), INT_MAX);
  EXPECT_EQ(apiVersionNumber("2147483647.2147483647"), -1);
  EXPECT_EQ(apiVersionNumber("1.41"), 141);
  EXPECT_EQ(apiVersionNumber("1"), -1);
  EXPECT_EQ(apiVersionNumber("1.x"), -1);
  EXPECT_EQ(apiVersionNumber("-1.2"), -1);
  Request req;
  parseTarget("/v99999999.1/info?x=%41+b", req);
  // Still a version prefix: the server answers "client version ... is too new".
  EXPECT_EQ(req.apiVersion, "99999999.1");
  EXPECT_EQ(req.path, "/info");
  EXPECT_EQ(req.q("x"), "A b");
}

// fuzz_template: a float index far outside int64 ({{slice "abc" 1e300}})
// was cast to int64_t (UBSan: outside the range of representable values).
TEST(FuzzRegressions, TemplateHugeFloatIndexIsAnError) {
  for (const char* text : {"{{slice \"abc\" 1e300}}", "{{slice \"abc\" -1e19}}", "{{index .A 1e300}}",
                           "{{printf \"%.3s\" \"abcdef\" | slice 9.3e18}}"}) {
    auto t = format::Template::parse(text);
    ASSERT_TRUE(t) << text;
    auto out = t->execute(format::Value::parse(R"({"A":[1,2]})"));
    EXPECT_FALSE(out) << text;
  }
  auto ok = format::Template::parse("{{slice \"abcdef\" 1.0 3}}");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->execute(format::Value::object()).value_or("error"), "bc");
}

// fuzz_template (human.cpp): "99999999999999999999999p" is 1e38 bytes, cast
// to int64_t (UB); go-units gives MinInt64 there, so does berth now.
TEST(FuzzRegressions, HumanSizeBeyondInt64) {
  auto r = format::ramInBytes("99999999999999999999999p");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, INT64_MIN);
  auto f = format::fromHumanSize("99999999999999999999999999999999");
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, INT64_MIN);
  EXPECT_EQ(format::ramInBytes("8191p").value_or(0), 8191LL << 50);
  EXPECT_EQ(format::ramInBytes("1.5k").value_or(0), 1536);
}
