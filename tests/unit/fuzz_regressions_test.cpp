// Inputs the fuzz targets of tests/fuzz found to crash berth or to hit
// undefined behaviour, each fed to the code it broke (the inputs are also in
// the targets' seed corpora, tests/fuzz/corpus/).

#include <gtest/gtest.h>

#include <climits>

#include "api/http.h"
#include "api/request_target.h"

using namespace berth::api;

// fuzz_http: "GET /v99999999.1/info" overflowed int in versionNumber
// (99999999 * 100; UBSan: signed integer overflow).
TEST(FuzzRegressions, HugeApiVersionSaturates) {
  EXPECT_EQ(versionNumber("99999999.1"), INT_MAX);
  EXPECT_EQ(versionNumber("2147483647.2147483647"), INT_MAX);
  EXPECT_EQ(versionNumber("1.41"), 141);
  EXPECT_EQ(versionNumber("1"), -1);
  EXPECT_EQ(versionNumber("1.x"), -1);
  EXPECT_EQ(versionNumber("-1.2"), -1);
  Request req;
  parseTarget("/v99999999.1/info?x=%41+b", req);
  // Still a version prefix: the server answers "client version ... is too new".
  EXPECT_EQ(req.apiVersion, "99999999.1");
  EXPECT_EQ(req.path, "/info");
  EXPECT_EQ(req.q("x"), "A b");
}
