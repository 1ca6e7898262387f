#pragma once
// A recording fake of every container::Service role, for router tests.
// Each call appends one line to `calls` ("stop abc t=3"); results come from
// the public fields, set by the test before the call. A ref other than the
// names in `known` answers NotFound "No such container: REF" where the real
// service would. Not thread safe.

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "container/service.h"

namespace fakecontainer {

using namespace berth;
using namespace berth::container;

class FakeContainerService : public Service {
 public:
  std::vector<std::string> calls;
  std::set<std::string> known = {"c1"};
  // Results.
  Result<> startResult = {};
  Result<> stopResult = {};
  int exitCode = 0;
  bool answerFromService = false;  // wait() calls its answer callback itself, as the exit path does
  ContainerDetails details;
  std::vector<ContainerSummary> summaries;
  PruneReport pruneReport;
  ExecDetails execDetails;
  TopResult topResult;
  PathStat pathStat;
  std::string logText;  // written by logs()
  // Last inputs.
  CreateRequest lastCreate;
  ListOptions lastList;
  LogsOptions lastLogs;
  CommitOptions lastCommit;
  ExecConfig lastExec;
  UpdateRequest lastUpdate;
  Filters lastPrune;

  // Lifecycle.
  Result<CreateResult> create(const CreateRequest& req) override {
    lastCreate = req;
    calls.push_back("create " + req.name);
    return CreateResult{std::string(64, 'a'), {}};
  }
  Result<> start(const std::string& ref) override {
    calls.push_back("start " + ref);
    TRY(check(ref));
    return startResult;
  }
  Result<> stop(const std::string& ref, std::optional<int> t) override {
    calls.push_back("stop " + ref + " t=" + (t ? std::to_string(*t) : "default"));
    TRY(check(ref));
    return stopResult;
  }
  Result<> restart(const std::string& ref, std::optional<int> t) override {
    calls.push_back("restart " + ref + " t=" + (t ? std::to_string(*t) : "default"));
    return check(ref);
  }
  Result<> kill(const std::string& ref, const std::string& signal) override {
    calls.push_back("kill " + ref + " " + signal);
    TRY(check(ref));
    TRY(parseSignal(signal));
    return {};
  }
  Result<> remove(const std::string& ref, bool force, bool volumes) override {
    calls.push_back("remove " + ref + " force=" + std::to_string(force) + " v=" + std::to_string(volumes));
    return check(ref);
  }
  Result<> rename(const std::string& ref, const std::string& name) override {
    calls.push_back("rename " + ref + " " + name);
    return check(ref);
  }
  Result<PruneReport> prune(const Filters& filters) override {
    lastPrune = filters;
    calls.push_back("prune");
    return pruneReport;
  }
  Result<uint64_t> waitBaseline(const std::string& id) override {
    calls.push_back("waitBaseline " + id);
    return uint64_t(7);
  }
  Result<int> wait(const std::string& id, const std::string& condition, uint64_t baseline,
                   const std::function<bool()>&, const std::function<void(int)>& answer = {}) override {
    calls.push_back("wait " + id + " " + condition + " " + std::to_string(baseline));
    if (answerFromService && answer) answer(exitCode);
    return exitCode;
  }
  // IO.
  Result<> attach(const std::string& id, const AttachOptions&, RawStream&) override {
    calls.push_back("attach " + id);
    return {};
  }
  Result<> logs(const std::string& id, const LogsOptions& o, StreamWriter& out) override {
    lastLogs = o;
    calls.push_back("logs " + id);
    (void)out.write(logText);
    return {};
  }
  Result<bool> isTty(const std::string& id) override {
    TRY(check(id));
    return false;
  }
  Result<> resize(const std::string& ref, int h, int w) override {
    calls.push_back("resize " + ref + " " + std::to_string(h) + "x" + std::to_string(w));
    return check(ref);
  }
  Result<std::string> execCreate(const std::string& ref, const ExecConfig& config) override {
    lastExec = config;
    calls.push_back("execCreate " + ref);
    TRY(check(ref));
    return std::string("e1");
  }
  Result<> execStart(const std::string& id, const ExecStartOptions& opts, RawStream*) override {
    calls.push_back("execStart " + id + (opts.detach ? " detach" : " attached") + (opts.tty ? " tty" : ""));
    return {};
  }
  Result<ExecDetails> execInspect(const std::string& id) override {
    if (id != execDetails.id) return errorf(Code::NotFound, "No such exec instance: {}", id);
    return execDetails;
  }
  Result<> execResize(const std::string& id, int h, int w) override {
    calls.push_back("execResize " + id + " " + std::to_string(h) + "x" + std::to_string(w));
    return {};
  }
  Result<> reopenLog(const std::string& id) override {
    calls.push_back("reopenLog " + id);
    return {};
  }
  // Filesystem.
  Result<std::vector<Change>> changes(const std::string& ref) override {
    TRY(check(ref));
    return std::vector<Change>{{"/etc", ChangeKind::Modified}, {"/etc/x", ChangeKind::Added}};
  }
  Result<std::string> commit(const CommitOptions& o) override {
    lastCommit = o;
    calls.push_back("commit " + o.container);
    TRY(check(o.container));
    return std::string("sha256:") + std::string(64, 'b');
  }
  Result<> exportRootfs(const std::string& ref, const std::function<StreamWriter*()>& open) override {
    TRY(check(ref));
    if (StreamWriter* w = open()) (void)w->write("tar");
    return {};
  }
  Result<PathStat> archiveStat(const std::string& ref, const std::string& path) override {
    calls.push_back("archiveStat " + ref + " " + path);
    TRY(check(ref));
    return pathStat;
  }
  Result<> archiveGet(const std::string& ref, const std::string& path,
                      const std::function<StreamWriter*(const PathStat&)>& open) override {
    TRY(check(ref));
    if (StreamWriter* w = open(pathStat)) (void)w->write("tar");
    return {};
  }
  Result<> archivePut(const std::string& ref, const std::string& path, const ExtractOptions&,
                      const TarSource&) override {
    calls.push_back("archivePut " + ref + " " + path);
    return check(ref);
  }
  // Queries.
  Result<std::string> resolveId(const std::string& ref) override {
    TRY(check(ref));
    return ref;
  }
  Result<ContainerDetails> inspect(const std::string& ref, bool size) override {
    calls.push_back("inspect " + ref + (size ? " size" : ""));
    TRY(check(ref));
    return details;
  }
  Result<std::vector<ContainerSummary>> list(const ListOptions& o) override {
    lastList = o;
    calls.push_back("list");
    TRY(checkFilterKeys(o.filters, {"id", "name", "label", "status"}));
    return summaries;
  }
  Result<> stats(const std::string& ref, bool, bool, StreamWriter&) override { return check(ref); }
  Result<TopResult> top(const std::string& ref, const std::string& psArgs) override {
    calls.push_back("top " + ref + " " + psArgs);
    TRY(check(ref));
    return topResult;
  }
  Result<> pause(const std::string& ref) override { return check(ref); }
  Result<> unpause(const std::string& ref) override { return check(ref); }
  Result<UpdateResult> update(const std::string& ref, const UpdateRequest& req) override {
    lastUpdate = req;
    TRY(check(ref));
    return UpdateResult{};
  }
  Result<DiskUsage> diskUsage() override { return DiskUsage{}; }
  Counts counts() override { return Counts{int(known.size()), 0, 0, int(known.size())}; }
  // Housekeeping.
  std::vector<image::ImageUser> imageUsers(const std::string&) override { return {}; }
  std::vector<std::string> volumeUsers(const std::string&) override { return {}; }
  Result<> restore() override { return {}; }
  void shutdown() override {}
  std::vector<Problem> check(const CheckOptions&) override { return {}; }
  Result<> connect(const std::string&, const std::string&, const nlohmann::json&) override { return {}; }
  Result<> disconnect(const std::string&, const std::string&, bool) override { return {}; }
  Result<> removeLink(const std::string&) override { return {}; }

 private:
  Result<> check(const std::string& ref) const {
    if (!known.count(ref)) return errorf(Code::NotFound, "No such container: {}", ref);
    return {};
  }
};

}  // namespace fakecontainer
