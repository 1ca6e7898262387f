// The parallel stages' pure parts: the stage graph (which stages a target
// needs, what each waits for, refusals), the scheduler (which stages start
// when, bounded), and the ordered output (lanes flushed in order, the first
// live).
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "build/ordered_output.h"
#include "build/stage_graph.h"

using namespace berth;
using namespace berth::build;
using nlohmann::json;

namespace {

Dockerfile parse(const std::string& text) {
  auto df = parseDockerfile(text);
  EXPECT_TRUE(df) << (df ? "" : df.error().message);
  return df ? *df : Dockerfile{};
}

// The graph of the last stage (or `target`), no image has triggers.
Result<StageGraph> graphOf(const std::string& text, int target = -1,
                           std::map<std::string, std::vector<std::string>> imageTriggers = {},
                           std::vector<std::string> metaEnv = {}) {
  Dockerfile df = parse(text);
  size_t t = target < 0 ? df.stages.size() - 1 : size_t(target);
  return buildStageGraph(df, t, metaEnv, [imageTriggers](const std::string& ref) {
    if (ref == "unknown-triggers") return std::optional<std::vector<std::string>>();
    auto it = imageTriggers.find(ref);
    return std::optional<std::vector<std::string>>(it == imageTriggers.end() ? std::vector<std::string>{}
                                                                             : it->second);
  });
}

using Deps = std::vector<std::vector<size_t>>;

}  // namespace

TEST(BuildStageGraph, IndependentStagesAndTheirUser) {
  auto g = graphOf(
      "FROM busybox AS a\nRUN echo a\n"
      "FROM busybox AS b\nRUN echo b\n"
      "FROM busybox AS unused\nRUN exit 1\n"
      "FROM busybox\nCOPY --from=a /x /a\nCOPY --from=B /x /b\n");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->needed, (std::vector<bool>{true, true, false, true}));
  EXPECT_EQ(g->deps[3], (std::vector<size_t>{0, 1}));
  EXPECT_TRUE(g->deps[0].empty());
  EXPECT_TRUE(g->deps[1].empty());
  EXPECT_EQ(g->order(), (std::vector<size_t>{0, 1, 3}));
}

TEST(BuildStageGraph, EveryFormOfReference) {
  auto g = graphOf(
      "ARG BASE=base\n"
      "FROM busybox AS base\n"                          // 0
      "FROM ${BASE} AS child\n"                         // 1: FROM a stage through a meta arg
      "FROM busybox AS idx\n"                           // 2
      "FROM busybox AS mnt\n"                           // 3
      "FROM busybox\n"                                  // 4
      "COPY --from=2 /x /x\n"                           // by index
      "RUN --mount=type=bind,from=mnt,target=/m true\n"  // RUN --mount from=
      "COPY --from=\"child\" /y /y\n",                  // quoted
      -1, {}, {"BASE=base"});
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->deps[1], (std::vector<size_t>{0}));
  EXPECT_EQ(g->deps[4], (std::vector<size_t>{1, 2, 3}));
  EXPECT_EQ(g->order(), (std::vector<size_t>{0, 1, 2, 3, 4}));
}

TEST(BuildStageGraph, TargetStopsTheGraph) {
  const std::string df =
      "FROM busybox AS a\nFROM busybox AS b\nCOPY --from=a /x /x\nFROM busybox AS c\nCOPY --from=b /x /x\n";
  auto g = graphOf(df, 1);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->order(), (std::vector<size_t>{0, 1}));
  g = graphOf(df, 0);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->order(), (std::vector<size_t>{0}));
}

TEST(BuildStageGraph, LaterNamesAreImagesNotCycles) {
  // A name means an earlier stage only: `FROM a AS a` and a reference to a
  // later stage are image references (the classic builder pulls them), so
  // no cycle can be written.
  auto g = graphOf("FROM a AS a\nFROM busybox AS b\nCOPY --from=c /x /x\nFROM b AS c\n");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_TRUE(g->deps[0].empty());
  EXPECT_TRUE(g->deps[1].empty());
  EXPECT_EQ(g->deps[2], (std::vector<size_t>{1}));
  EXPECT_EQ(g->order(), (std::vector<size_t>{1, 2}));
}

TEST(BuildStageGraph, BadReferencesAreRefusedWithTheClassicMessages) {
  auto self = graphOf("FROM busybox\nFROM busybox\nCOPY --from=1 /x /x\n");
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().code, Code::InvalidArgument);
  EXPECT_EQ(self.error().message, "invalid from flag value 1: refers to current build stage");
  auto later = graphOf("FROM busybox\nCOPY --from=3 /x /x\nFROM busybox\n", 0);
  ASSERT_FALSE(later);
  EXPECT_EQ(later.error().message, "invalid from flag value 3: index out of bounds");
  auto negative = graphOf("FROM busybox\nFROM busybox\nCOPY --from=-1 /x /x\n");
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().message, "invalid from flag value -1: index out of bounds");
  auto mount = graphOf("FROM busybox\nRUN --mount=from=0,target=/m true\n");
  ASSERT_FALSE(mount);
  EXPECT_EQ(mount.error().message, "invalid from flag value 0: refers to current build stage");
  auto dup = graphOf("FROM busybox AS x\nFROM busybox AS X\nFROM busybox\n");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "x stage name already used");
  // A duplicate after the target is never built: no error.
  EXPECT_TRUE(graphOf("FROM busybox AS x\nFROM busybox AS x\n", 0));
  // A bad reference in a stage the target does not need is not looked at.
  EXPECT_TRUE(graphOf("FROM busybox\nCOPY --from=0 /x /x\nFROM busybox\n"));
}

TEST(BuildStageGraph, DollarReferencesWaitForEveryEarlierStage) {
  auto g = graphOf(
      "FROM busybox AS a\nFROM busybox AS b\nFROM busybox AS c\nARG S=a\nCOPY --from=$S /x /x\n");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->deps[2], (std::vector<size_t>{0, 1}));
  auto m = graphOf("FROM busybox AS a\nFROM busybox\nARG S=a\nRUN --mount=from=${S},target=/m true\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->deps[1], (std::vector<size_t>{0}));
}

TEST(BuildStageGraph, OnbuildTriggersOfStagesAndImages) {
  // A stage FROM a stage runs that stage's ONBUILD triggers.
  auto g = graphOf(
      "FROM busybox AS src\n"
      "FROM busybox AS parent\nONBUILD COPY --from=src /x /x\n"
      "FROM parent\n");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->deps[2], (std::vector<size_t>{0, 1}));
  EXPECT_EQ(g->order(), (std::vector<size_t>{0, 1, 2}));
  // A local image's triggers.
  auto i = graphOf("FROM busybox AS src\nFROM busybox AS other\nFROM withtriggers\n", -1,
                   {{"withtriggers", {"COPY --from=src /x /x", "RUN --mount=from=other,target=/o true"}}});
  ASSERT_TRUE(i) << i.error().message;
  EXPECT_EQ(i->deps[2], (std::vector<size_t>{0, 1}));
  // Unknown triggers (to be pulled): wait for every earlier needed stage,
  // without making more stages needed.
  auto u = graphOf(
      "FROM busybox AS skipped\nFROM busybox AS used\nFROM busybox AS first\nFROM unknown-triggers\n"
      "COPY --from=used /x /x\n");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->order(), (std::vector<size_t>{1, 3}));
  EXPECT_EQ(u->deps[3], (std::vector<size_t>{1}));
}

TEST(BuildStageScheduler, BoundedWorkersInFileOrder) {
  auto g = graphOf(
      "FROM busybox AS a\nFROM busybox AS b\nFROM busybox AS c\n"
      "FROM busybox\nCOPY --from=a /x /x\nCOPY --from=b /x /x\nCOPY --from=c /x /x\n");
  ASSERT_TRUE(g);
  StageScheduler s(*g, 2);
  EXPECT_EQ(s.take(), (std::vector<size_t>{0, 1}));
  EXPECT_TRUE(s.take().empty());  // both workers busy
  EXPECT_FALSE(s.done());
  s.finish(1, true);
  EXPECT_EQ(s.take(), (std::vector<size_t>{2}));
  s.finish(0, true);
  EXPECT_TRUE(s.take().empty());  // 3 still waits for 2
  s.finish(2, true);
  EXPECT_EQ(s.take(), (std::vector<size_t>{3}));
  EXPECT_FALSE(s.done());
  s.finish(3, true);
  EXPECT_TRUE(s.done());
}

TEST(BuildStageScheduler, OneWorkerIsTheSequentialOrder) {
  auto g = graphOf("FROM busybox AS a\nFROM busybox AS skipped\nFROM busybox AS b\nFROM b\nCOPY --from=a /x /x\n");
  ASSERT_TRUE(g);
  StageScheduler s(*g, 1);
  std::vector<size_t> ran;
  while (!s.done()) {
    auto t = s.take();
    ASSERT_EQ(t.size(), 1u);
    ran.push_back(t[0]);
    s.finish(t[0], true);
  }
  EXPECT_EQ(ran, (std::vector<size_t>{0, 2, 3}));
}

TEST(BuildStageScheduler, AFailureStartsNothingMore) {
  auto g = graphOf("FROM busybox AS a\nFROM busybox AS b\nFROM busybox AS c\nFROM busybox\n");
  ASSERT_TRUE(g);
  // Only the last stage is needed.
  EXPECT_EQ(g->order(), (std::vector<size_t>{3}));
  auto g2 = graphOf(
      "FROM busybox AS a\nFROM busybox AS b\nFROM busybox AS c\n"
      "FROM busybox\nCOPY --from=a /x /x\nCOPY --from=b /x /x\nCOPY --from=c /x /x\n");
  ASSERT_TRUE(g2);
  StageScheduler s(*g2, 2);
  EXPECT_EQ(s.take(), (std::vector<size_t>{0, 1}));
  s.finish(1, false);
  EXPECT_TRUE(s.take().empty());
  EXPECT_FALSE(s.done());  // 0 still runs
  s.finish(0, true);
  EXPECT_TRUE(s.take().empty());
  EXPECT_TRUE(s.done());
}

TEST(BuildStageScheduler, DefaultWorkers) {
  size_t w = defaultStageWorkers();
  EXPECT_GE(w, 2u);
  EXPECT_LE(w, 4u);
}

TEST(BuildStageScheduler, ParallelKnobFromTheEnvironment) {
  EXPECT_EQ(*stageWorkersFromEnv(nullptr), 0u);
  EXPECT_EQ(*stageWorkersFromEnv(""), 0u);
  EXPECT_EQ(*stageWorkersFromEnv("1"), 0u);
  EXPECT_EQ(*stageWorkersFromEnv("true"), 0u);
  EXPECT_EQ(*stageWorkersFromEnv("0"), 1u);
  EXPECT_EQ(*stageWorkersFromEnv("false"), 1u);
  auto bad = stageWorkersFromEnv("2");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "invalid BERTH_BUILD_PARALLEL value \"2\": want 1 or 0");
}

namespace {

struct RecordingOutput : BuildOutput {
  std::vector<std::string> lines;  // "t:<text>" or "a:<json>"
  bool goneAfterWrites = false;
  size_t failAt = SIZE_MAX;
  int failed = -1;
  bool clientLeft = false;
  bool stream(std::string_view t) override {
    if (lines.size() >= failAt) return false;
    lines.push_back("t:" + std::string(t));
    return true;
  }
  bool aux(const json& j) override {
    if (lines.size() >= failAt) return false;
    lines.push_back("a:" + j.dump());
    return true;
  }
  void runFailed(int s) override { failed = s; }
  bool clientGone() override { return clientLeft; }
};

}  // namespace

TEST(BuildOrderedOutput, LiveLaneFirstLaterLanesKeptUntilTheirTurn) {
  RecordingOutput rec;
  OrderedOutput out(rec, 3);
  EXPECT_TRUE(out.direct("pre\n"));
  EXPECT_TRUE(out.text(1, "b1\n"));
  EXPECT_TRUE(out.text(2, "c1\n"));
  EXPECT_TRUE(out.text(0, "a1\n"));  // live: written at once
  EXPECT_EQ(rec.lines, (std::vector<std::string>{"t:pre\n", "t:a1\n"}));
  EXPECT_TRUE(out.aux(2, json{{"ID", "c"}}));
  out.close(2);  // closed but not live: still kept
  EXPECT_EQ(rec.lines.size(), 2u);
  EXPECT_TRUE(out.text(0, "a2\n"));
  out.close(0);  // lane 1 becomes live: its kept text goes out
  EXPECT_EQ(out.liveLane(), 1u);
  EXPECT_TRUE(out.text(1, "b2\n"));  // now live
  EXPECT_EQ(rec.lines, (std::vector<std::string>{"t:pre\n", "t:a1\n", "t:a2\n", "t:b1\n", "t:b2\n"}));
  out.close(1);  // lane 2 was closed already: flushed whole
  EXPECT_EQ(out.liveLane(), 3u);
  EXPECT_EQ(rec.lines, (std::vector<std::string>{"t:pre\n", "t:a1\n", "t:a2\n", "t:b1\n", "t:b2\n", "t:c1\n",
                                                 "a:{\"ID\":\"c\"}"}));
  EXPECT_TRUE(out.direct("post\n"));
  EXPECT_EQ(rec.lines.back(), "t:post\n");
}

TEST(BuildOrderedOutput, FinishKeepsLanesUpToTheFailureAndDropsTheRest) {
  RecordingOutput rec;
  OrderedOutput out(rec, 4);
  out.text(0, "a\n");
  out.text(1, "b\n");
  out.text(2, "c\n");
  out.text(3, "d\n");
  out.finish(2);
  EXPECT_EQ(rec.lines, (std::vector<std::string>{"t:a\n", "t:b\n", "t:c\n"}));
  EXPECT_TRUE(out.text(3, "late\n"));  // ignored after finish
  EXPECT_EQ(rec.lines.size(), 3u);
  out.runFailed(3);
  EXPECT_EQ(rec.failed, 3);
}

TEST(BuildOrderedOutput, AClientThatLeavesStopsEveryLane) {
  RecordingOutput rec;
  rec.failAt = 1;
  OrderedOutput out(rec, 2);
  EXPECT_TRUE(out.text(1, "kept\n"));  // not written: no way to know yet
  EXPECT_TRUE(out.text(0, "one\n"));
  EXPECT_FALSE(out.text(0, "two\n"));  // the write failed
  EXPECT_TRUE(out.gone());
  EXPECT_FALSE(out.text(1, "more\n"));
  EXPECT_TRUE(out.pollGone());

  RecordingOutput quiet;
  OrderedOutput q(quiet, 1);
  EXPECT_FALSE(q.pollGone());
  quiet.clientLeft = true;
  EXPECT_TRUE(q.pollGone());
  EXPECT_FALSE(q.text(0, "x\n"));
}

TEST(BuildOrderedOutput, ConcurrentLanesNeverInterleave) {
  RecordingOutput rec;
  const size_t lanes = 4, per = 200;
  OrderedOutput out(rec, lanes);
  std::vector<std::thread> ts;
  for (size_t l = 0; l < lanes; l++)
    ts.emplace_back([&, l] {
      for (size_t k = 0; k < per; k++) out.text(l, std::to_string(l) + ":" + std::to_string(k));
      out.close(l);
    });
  for (auto& t : ts) t.join();
  ASSERT_EQ(rec.lines.size(), lanes * per);
  for (size_t l = 0; l < lanes; l++)
    for (size_t k = 0; k < per; k++)
      EXPECT_EQ(rec.lines[l * per + k], "t:" + std::to_string(l) + ":" + std::to_string(k));
}
