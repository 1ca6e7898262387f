// The Dockerfile parser against Docker's documented syntax and messages.
#include "build/dockerfile.h"

#include <gtest/gtest.h>

using namespace berth::build;

namespace {

Dockerfile mustParse(std::string_view text) {
  auto r = parseDockerfile(text);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : Dockerfile{};
}

const Instruction& cmd(const Dockerfile& df, size_t i, size_t stage = 0) { return df.stages.at(stage).commands.at(i); }

using Strings = std::vector<std::string>;

TEST(DockerfileParse, StagesNamesAndMetaArgs) {
  auto df = mustParse(
      "ARG BASE=alpine:3.19\n"
      "ARG TAG\n"
      "FROM ${BASE} AS Build\n"
      "RUN make\n"
      "FROM --platform=$BUILDPLATFORM scratch as final\n"
      "COPY --from=build /out /out\n"
      "FROM build\n");
  ASSERT_EQ(df.metaArgs.size(), 2u);
  EXPECT_EQ(df.metaArgs[0].argDefs[0].key, "BASE");
  EXPECT_EQ(df.metaArgs[0].argDefs[0].value, "alpine:3.19");
  EXPECT_FALSE(df.metaArgs[1].argDefs[0].value);
  ASSERT_EQ(df.stages.size(), 3u);
  EXPECT_EQ(df.stages[0].name, "build");
  EXPECT_EQ(df.stages[0].baseName, "${BASE}");
  EXPECT_EQ(df.stages[1].name, "final");
  EXPECT_EQ(df.stages[1].platform, "$BUILDPLATFORM");
  EXPECT_EQ(df.stages[1].baseName, "scratch");
  EXPECT_EQ(cmd(df, 0, 1).from, "build");
  EXPECT_EQ(df.stages[2].name, "");
  EXPECT_EQ(df.stageIndex("BUILD"), 0);
  EXPECT_EQ(df.stageIndex("final"), 1);
  EXPECT_EQ(df.stageIndex("nope"), -1);
  EXPECT_EQ(df.instructionCount(), 7u);
  EXPECT_EQ(df.stages[0].from.original, "FROM ${BASE} AS Build");
  EXPECT_EQ(df.stages[0].from.startLine, 3);
}

TEST(DockerfileParse, CommentsBlankLinesContinuations) {
  auto df = mustParse(
      "# a comment\n"
      "\n"
      "FROM busybox\n"
      "   # indented comment\n"
      "RUN echo a \\\n"
      "  # a comment inside the continuation is skipped\n"
      "  && echo b \\   \n"
      "\n"
      "  && echo c\n"
      "RUN echo \\\\\n"
      "CMD echo done\\\n");
  ASSERT_EQ(df.stages[0].commands.size(), 3u);
  const auto& run = cmd(df, 0);
  EXPECT_EQ(run.original, "RUN echo a   && echo b   && echo c");
  EXPECT_EQ(run.cmdLine, Strings{"echo a   && echo b   && echo c"});
  EXPECT_EQ(run.startLine, 5);
  EXPECT_EQ(run.endLine, 9);
  EXPECT_EQ(cmd(df, 1).cmdLine, Strings{"echo \\\\"});
  EXPECT_EQ(cmd(df, 2).cmdLine, Strings{"echo done"});  // continuation at EOF
  ASSERT_EQ(df.warnings.size(), 1u);
  EXPECT_EQ(df.warnings[0], "Empty continuation line found in: RUN echo a   && echo b   && echo c");
}

TEST(DockerfileParse, Directives) {
  auto df = mustParse("# syntax=docker/dockerfile:1\n# escape=`\nFROM windows\nRUN dir `\n  c:\\\nCOPY a` b c\n");
  EXPECT_EQ(df.escape, '`');
  EXPECT_EQ(df.syntax, "docker/dockerfile:1");
  EXPECT_EQ(cmd(df, 0).cmdLine, Strings{"dir   c:\\"});
  EXPECT_EQ(cmd(df, 1).args, (Strings{"a`", "b", "c"}));

  // A directive after a comment, a blank line or an instruction is a comment.
  auto late = mustParse("# hello\n# escape=`\nFROM a\nRUN x \\\n  y\n");
  EXPECT_EQ(late.escape, '\\');
  EXPECT_EQ(cmd(late, 0).cmdLine, Strings{"x   y"});
  auto blank = mustParse("\n# escape=`\nFROM a\n");
  EXPECT_EQ(blank.escape, '\\');
  auto spaced = mustParse("#   ESCAPE =  `  \nFROM a\n");
  EXPECT_EQ(spaced.escape, '`');
  auto unknown = mustParse("# foo=bar\n# escape=`\nFROM a\n");
  EXPECT_EQ(unknown.escape, '\\');

  auto bad = parseDockerfile("# escape=x\nFROM a\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "failed to parse Dockerfile: invalid escape token 'x' does not match ` or \\");
  auto twice = parseDockerfile("# escape=`\n# escape=\\\nFROM a\n");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message, "failed to parse Dockerfile: only one escape parser directive can be used");
}

TEST(DockerfileParse, ExecAndShellForms) {
  auto df = mustParse(
      "FROM a\n"
      "RUN [\"echo\", \"hi there\"]\n"
      "RUN echo $HOME\n"
      "CMD [\"a\", \"b\"]\n"
      "CMD [ not json\n"
      "ENTRYPOINT []\n"
      "ENTRYPOINT\n"
      "SHELL [\"/bin/bash\", \"-c\"]\n"
      "RUN [\"trailing\"] x\n");
  EXPECT_TRUE(cmd(df, 0).json);
  EXPECT_FALSE(cmd(df, 0).prependShell);
  EXPECT_EQ(cmd(df, 0).cmdLine, (Strings{"echo", "hi there"}));
  EXPECT_FALSE(cmd(df, 1).json);
  EXPECT_TRUE(cmd(df, 1).prependShell);
  EXPECT_EQ(cmd(df, 1).cmdLine, Strings{"echo $HOME"});
  EXPECT_EQ(cmd(df, 2).cmdLine, (Strings{"a", "b"}));
  EXPECT_EQ(cmd(df, 3).cmdLine, Strings{"[ not json"});
  EXPECT_TRUE(cmd(df, 4).json);
  EXPECT_TRUE(cmd(df, 4).cmdLine.empty());
  EXPECT_TRUE(cmd(df, 5).cmdLine.empty());
  EXPECT_EQ(cmd(df, 6).cmdLine, (Strings{"/bin/bash", "-c"}));
  EXPECT_EQ(cmd(df, 7).cmdLine, Strings{"[\"trailing\"] x"});
}

TEST(DockerfileParse, EnvLabelArgForms) {
  auto df = mustParse(
      "FROM a\n"
      "ENV A=1 B=\"two words\" C=three\\ words D=\n"
      "ENV LEGACY some value  here\n"
      "LABEL \"com.example.vendor\"=\"ACME Inc\" version=1.0\n"
      "LABEL multi=\"a \\\n b\"\n"
      "ARG X Y=2 Z=\"q r\"\n");
  const auto& env = cmd(df, 0);
  ASSERT_EQ(env.pairs.size(), 4u);
  EXPECT_EQ(env.pairs[0].key, "A");
  EXPECT_EQ(env.pairs[1].value, "\"two words\"");  // quotes are removed at expansion
  EXPECT_EQ(env.pairs[2].value, "three\\ words");
  EXPECT_EQ(env.pairs[3].value, "");
  EXPECT_FALSE(env.pairs[0].noDelim);
  const auto& legacy = cmd(df, 1);
  ASSERT_EQ(legacy.pairs.size(), 1u);
  EXPECT_EQ(legacy.pairs[0].key, "LEGACY");
  EXPECT_EQ(legacy.pairs[0].value, "some value  here");
  EXPECT_TRUE(legacy.pairs[0].noDelim);
  const auto& label = cmd(df, 2);
  EXPECT_EQ(label.pairs[0].key, "\"com.example.vendor\"");
  EXPECT_EQ(label.pairs[0].value, "\"ACME Inc\"");
  EXPECT_EQ(cmd(df, 3).pairs[0].value, "\"a  b\"");
  const auto& arg = cmd(df, 4);
  ASSERT_EQ(arg.argDefs.size(), 3u);
  EXPECT_FALSE(arg.argDefs[0].value);
  EXPECT_EQ(arg.argDefs[1].value, "2");
  EXPECT_EQ(arg.argDefs[2].value, "\"q r\"");
}

TEST(DockerfileParse, CopyAddFlagsAndSources) {
  auto df = mustParse(
      "FROM a\n"
      "COPY --from=build --chown=1000:1000 --chmod=0755 --link /src/*.go /a b/ /dest/\n"
      "COPY [\"with space\", \"/d st/\"]\n"
      "ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false https://x/y.tar /t/\n"
      "COPY --link=false --exclude=*.md --exclude=*.txt . /app\n"
      "COPY --parents a/b ./\n");
  const auto& c = cmd(df, 0);
  EXPECT_EQ(c.flags, (Strings{"--from=build", "--chown=1000:1000", "--chmod=0755", "--link"}));
  EXPECT_EQ(c.from, "build");
  EXPECT_EQ(c.chown, "1000:1000");
  EXPECT_EQ(c.chmod, "0755");
  EXPECT_TRUE(c.link);
  EXPECT_EQ(c.sources, (Strings{"/src/*.go", "/a", "b/"}));
  EXPECT_EQ(c.dest, "/dest/");
  EXPECT_TRUE(cmd(df, 1).json);
  EXPECT_EQ(cmd(df, 1).sources, Strings{"with space"});
  EXPECT_EQ(cmd(df, 1).dest, "/d st/");
  const auto& add = cmd(df, 2);
  EXPECT_EQ(add.checksum, "sha256:abc");
  EXPECT_EQ(add.keepGitDir, true);
  EXPECT_EQ(add.unpack, false);
  EXPECT_FALSE(cmd(df, 3).link);
  EXPECT_EQ(cmd(df, 3).excludes, (Strings{"*.md", "*.txt"}));
  EXPECT_TRUE(cmd(df, 4).parents);
}

TEST(DockerfileParse, Heredocs) {
  auto df = mustParse(
      "FROM a\n"
      "RUN <<EOF\n"
      "echo $HOME\n"
      "EOF\n"
      "RUN <<-'EOT' bash\n"
      "\t\techo quoted\n"
      "\tEOT\n"
      "COPY <<one <<\"two\" /dest/\n"
      "first\n"
      "one\n"
      "second $X\n"
      "two\n"
      "RUN 3<<FILE cat /dev/fd/3 > /out\n"
      "data\n"
      "FILE\n"
      "COPY <<-EOF /t\n"
      "\tx\n"
      "\t\ty\n"
      "\tEOF\n"
      "RUN [\"echo\", \"<<EOF\"]\n"
      "RUN echo done\n");
  const auto& r1 = cmd(df, 0);
  ASSERT_EQ(r1.heredocs.size(), 1u);
  EXPECT_EQ(r1.heredocs[0].name, "EOF");
  EXPECT_EQ(r1.heredocs[0].content, "echo $HOME\n");
  EXPECT_TRUE(r1.heredocs[0].expand);
  EXPECT_EQ(r1.startLine, 2);
  EXPECT_EQ(r1.endLine, 4);
  EXPECT_EQ(r1.cmdLine, Strings{"<<EOF"});
  const auto& r2 = cmd(df, 1);
  ASSERT_EQ(r2.heredocs.size(), 1u);
  EXPECT_EQ(r2.heredocs[0].name, "EOT");
  EXPECT_FALSE(r2.heredocs[0].expand);
  EXPECT_TRUE(r2.heredocs[0].chomp);
  EXPECT_EQ(r2.heredocs[0].content, "\t\techo quoted\n");
  EXPECT_EQ(chompHeredoc(r2.heredocs[0].content), "echo quoted\n");
  const auto& c = cmd(df, 2);
  ASSERT_EQ(c.heredocs.size(), 2u);
  ASSERT_EQ(c.inlineSources.size(), 2u);
  EXPECT_TRUE(c.sources.empty());
  EXPECT_EQ(c.inlineSources[0].path, "one");
  EXPECT_EQ(c.inlineSources[0].data, "first\n");
  EXPECT_TRUE(c.inlineSources[0].expand);
  EXPECT_EQ(c.inlineSources[1].path, "two");
  EXPECT_EQ(c.inlineSources[1].data, "second $X\n");
  EXPECT_FALSE(c.inlineSources[1].expand);
  EXPECT_EQ(c.dest, "/dest/");
  EXPECT_EQ(cmd(df, 3).heredocs.at(0).fd, 3u);
  EXPECT_EQ(cmd(df, 3).heredocs.at(0).content, "data\n");
  EXPECT_EQ(cmd(df, 4).inlineSources.at(0).data, "x\ny\n");
  EXPECT_TRUE(cmd(df, 5).heredocs.empty());  // exec form takes no heredoc
  EXPECT_EQ(cmd(df, 6).startLine, 21);

  auto open = parseDockerfile("FROM a\nRUN <<EOF\necho\n");
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().message, "failed to parse Dockerfile: unterminated heredoc");
  auto dest = parseDockerfile("FROM a\nCOPY x <<EOF\nEOF\n");
  ASSERT_FALSE(dest);
  EXPECT_EQ(dest.error().message, "dockerfile parse error on line 2: COPY cannot accept a heredoc as a destination");
}

TEST(DockerfileParse, RunMountsNetworkSecurity) {
  auto df = mustParse(
      "FROM a\n"
      "RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked "
      "--mount=type=bind,from=build,source=/out,target=/in,rw --network=none go build\n"
      "RUN --mount=type=secret,id=tok,target=/run/secrets/tok,required=true --security=insecure true\n");
  const auto& r = cmd(df, 0);
  ASSERT_EQ(r.mounts.size(), 2u);
  EXPECT_EQ(r.network, "none");
  EXPECT_EQ(r.cmdLine, Strings{"go build"});
  auto m0 = parseMount(r.mounts[0]);
  ASSERT_TRUE(m0);
  EXPECT_EQ(m0->type, MountType::Cache);
  EXPECT_EQ(m0->target, "/root/.cache");
  EXPECT_EQ(m0->id, "pip");
  EXPECT_EQ(m0->sharing, CacheSharing::Locked);
  EXPECT_FALSE(m0->readOnly);
  auto m1 = parseMount(r.mounts[1]);
  EXPECT_EQ(m1->type, MountType::Bind);
  EXPECT_EQ(m1->from, "build");
  EXPECT_FALSE(m1->readOnly);
  EXPECT_EQ(cmd(df, 1).security, "insecure");
}

struct MountCase {
  const char* spec;
  const char* error;  // nullptr: accepted
};

TEST(DockerfileParse, MountSpecTable) {
  const MountCase cases[] = {
      {"target=/x", nullptr},
      {"type=tmpfs,target=/t,size=64m", nullptr},
      {"type=cache,target=/c,mode=0700,uid=1000,gid=1000", nullptr},
      {"type=ssh", nullptr},
      {"type=secret,id=a", nullptr},
      {"type=secret,id=a,env=TOKEN,required", nullptr},
      {"type=bind,target=/x,ro", nullptr},
      {"\"type=bind\",\"target=/a,b\"", nullptr},
      {"type=\"bind\"", "failed to parse csv mounts: bare \" in non-quoted-field"},
      {"type=volume,target=/x", "unsupported mount type \"volume\""},
      {"type=bnid,target=/x", "unsupported mount type \"bnid\" (did you mean bind?)"},
      {"type=cache,sharing=whatever", "unsupported sharing value \"whatever\""},
      {"type=bind,sharing=locked", "invalid cache sharing set for bind mount"},
      {"type=bind,mode=0700", "mode not allowed for \"bind\" type mounts"},
      {"type=tmpfs,uid=1", "uid not allowed for \"tmpfs\" type mounts"},
      {"type=bind,size=1m", "unexpected key 'size' for mount type 'bind'"},
      {"type=bind,required", "unexpected key 'required' for mount type 'bind'"},
      {"type=secret", "invalid secret mount. one of source, target required"},
      {"type=secret,id=a,source=b", "both source and id can't be set"},
      {"type=secret,id=a,from=x", "secret mount should not have a from"},
      {"target=/x,foo=bar", "unexpected key 'foo' in 'foo=bar' (did you mean from?)"},
      {"target=/x,bogus=1", "unexpected key 'bogus' in 'bogus=1'"},
      {"target=/x,targt=/y", "unexpected key 'targt' in 'targt=/y' (did you mean target?)"},
      {"target=/x,junk", "invalid field 'junk' must be a key=value pair"},
      {"target=/x,ro=maybe", "invalid value for ro: maybe"},
      {"type=cache,mode=999", "invalid value 999 for mode"},
      {"type=cache,uid=x", "invalid value x for uid"},
  };
  for (const auto& c : cases) {
    auto m = parseMount(c.spec);
    if (c.error == nullptr) {
      EXPECT_TRUE(m) << c.spec << ": " << m.error().message;
    } else {
      ASSERT_FALSE(m) << c.spec;
      EXPECT_EQ(m.error().message, c.error) << c.spec;
    }
  }
  auto tmpfs = parseMount("type=tmpfs,target=/t,size=64m");
  EXPECT_EQ(tmpfs->sizeBytes, 64 * 1024 * 1024);
  EXPECT_FALSE(tmpfs->readOnly);
  auto quoted = parseMount("\"type=bind\",\"target=/a,b\"");
  EXPECT_EQ(quoted->target, "/a,b");
  EXPECT_TRUE(quoted->readOnly);
  auto expanded = parseMount("type=cache,target=$DIR", [](std::string_view v) -> berth::Result<std::string> {
    return v == "$DIR" ? std::string("/cache") : std::string(v);
  });
  EXPECT_EQ(expanded->target, "/cache");
}

TEST(DockerfileParse, HealthcheckExposeVolumeOthers) {
  auto df = mustParse(
      "FROM a\n"
      "HEALTHCHECK --interval=30s --timeout=1m30s --start-period=500ms --retries=3 CMD curl -f http://x/\n"
      "HEALTHCHECK CMD [\"/bin/check\", \"-q\"]\n"
      "HEALTHCHECK none\n"
      "EXPOSE 8080/tcp 443 80/udp\n"
      "VOLUME /data /logs\n"
      "VOLUME [\"/a b\"]\n"
      "WORKDIR /app dir\n"
      "USER 1000:1000\n"
      "STOPSIGNAL SIGTERM\n"
      "MAINTAINER someone\n"
      "ONBUILD RUN echo hi\n"
      "onbuild copy <<EOF /x\n"
      "hello\n"
      "EOF\n");
  const auto& h = cmd(df, 0);
  ASSERT_TRUE(h.health);
  EXPECT_EQ(h.health->test, (Strings{"CMD-SHELL", "curl -f http://x/"}));
  EXPECT_EQ(h.health->intervalNs, 30'000'000'000);
  EXPECT_EQ(h.health->timeoutNs, 90'000'000'000);
  EXPECT_EQ(h.health->startPeriodNs, 500'000'000);
  EXPECT_EQ(h.health->retries, 3);
  EXPECT_EQ(cmd(df, 1).health->test, (Strings{"CMD", "/bin/check", "-q"}));
  EXPECT_EQ(cmd(df, 2).health->test, Strings{"NONE"});
  EXPECT_EQ(cmd(df, 3).ports, (Strings{"443", "80/udp", "8080/tcp"}));
  EXPECT_EQ(cmd(df, 4).volumes, (Strings{"/data", "/logs"}));
  EXPECT_EQ(cmd(df, 5).volumes, Strings{"/a b"});
  EXPECT_EQ(cmd(df, 6).value, "/app dir");
  EXPECT_EQ(cmd(df, 7).value, "1000:1000");
  EXPECT_EQ(cmd(df, 8).value, "SIGTERM");
  EXPECT_EQ(cmd(df, 9).kind, InstructionKind::Maintainer);
  const auto& ob = cmd(df, 10);
  EXPECT_EQ(ob.kind, InstructionKind::Onbuild);
  EXPECT_EQ(ob.expression, "RUN echo hi");
  EXPECT_EQ(ob.triggerKeyword, "RUN");
  const auto& ob2 = cmd(df, 11);
  EXPECT_EQ(ob2.expression, "copy <<EOF /x\nhello\nEOF");
  ASSERT_EQ(ob2.heredocs.size(), 1u);
  // A trigger is a Dockerfile line of its own: the child build parses it.
  auto trig = mustParse("FROM x\n" + ob2.expression + "\n");
  EXPECT_EQ(cmd(trig, 0).inlineSources.at(0).data, "hello\n");
}

struct ErrorCase {
  const char* text;
  const char* error;
};

TEST(DockerfileParse, ErrorMessagesTable) {
  const ErrorCase cases[] = {
      {"", "the Dockerfile (Dockerfile) cannot be empty"},
      {"# only a comment\n\n", "failed to parse Dockerfile: file with no instructions"},
      {"FROM a\nRUN x\nXYZZY bar\n", "dockerfile parse error on line 3: unknown instruction: XYZZY"},
      {"FROM a\nRUN x\nFOO bar\n", "dockerfile parse error on line 3: unknown instruction: FOO (did you mean FROM?)"},
      {"FROM a\nRUNN x\n", "dockerfile parse error on line 2: unknown instruction: RUNN (did you mean RUN?)"},
      {"FROM a\ncopyy a b\n", "dockerfile parse error on line 2: unknown instruction: copyy (did you mean copy?)"},
      {"FROM\n", "dockerfile parse error on line 1: FROM requires either one or three arguments"},
      {"FROM a b\n", "dockerfile parse error on line 1: FROM requires either one or three arguments"},
      {"FROM a AS 1x\n",
       "dockerfile parse error on line 1: invalid name for build stage: \"1x\", name can't start with a number or "
       "contain symbols"},
      {"FROM --platfrm=x a\n", "dockerfile parse error on line 1: unknown flag: --platfrm (did you mean platform?)"},
      {"RUN x\n", "no build stage in current context"},
      {"FROM a\nCOPY x\n",
       "dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. "
       "Destination could not be determined"},
      {"FROM a\nADD\n",
       "dockerfile parse error on line 2: ADD requires at least two arguments, but only one was provided. "
       "Destination could not be determined"},
      {"FROM a\nCOPY --chown a b\n", "dockerfile parse error on line 2: missing a value on flag: --chown"},
      {"FROM a\nCOPY --link=maybe a b\n",
       "dockerfile parse error on line 2: expecting boolean value for flag --link, not: maybe"},
      {"FROM a\nCOPY --from=x --from=y a b\n", "dockerfile parse error on line 2: duplicate flag specified: --from"},
      {"FROM a\nENV\n", "dockerfile parse error on line 2: ENV requires at least one argument"},
      {"FROM a\nENV X\n", "failed to parse Dockerfile: ENV must have two arguments"},
      {"FROM a\nENV A=1 B\n",
       "failed to parse Dockerfile: Syntax error - can't find = in \"B\". Must be of the form: name=value"},
      {"FROM a\nENV =x\n", "dockerfile parse error on line 2: ENV names can not be blank"},
      {"FROM a\nLABEL\n", "dockerfile parse error on line 2: LABEL requires at least one argument"},
      {"FROM a\nARG\n", "dockerfile parse error on line 2: ARG requires at least one argument"},
      {"FROM a\nARG =x\n", "dockerfile parse error on line 2: ARG names can not be blank"},
      {"FROM a\nWORKDIR\n", "dockerfile parse error on line 2: WORKDIR requires exactly one argument"},
      {"FROM a\nUSER\n", "dockerfile parse error on line 2: USER requires exactly one argument"},
      {"FROM a\nSTOPSIGNAL\n", "dockerfile parse error on line 2: STOPSIGNAL requires exactly one argument"},
      {"FROM a\nEXPOSE\n", "dockerfile parse error on line 2: EXPOSE requires at least one argument"},
      {"FROM a\nVOLUME\n", "dockerfile parse error on line 2: VOLUME requires at least one argument"},
      {"FROM a\nVOLUME [\"\"]\n", "dockerfile parse error on line 2: VOLUME specified can not be an empty string"},
      {"FROM a\nSHELL /bin/sh -c\n", "dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form"},
      {"FROM a\nSHELL []\n", "dockerfile parse error on line 2: SHELL requires at least one argument"},
      {"FROM a\nCMD [\"a\", 1]\n",
       "failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of strings only"},
      {"FROM a\nONBUILD\n", "dockerfile parse error on line 2: ONBUILD requires at least one argument"},
      {"FROM a\nONBUILD ONBUILD RUN x\n",
       "dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
      {"FROM a\nONBUILD from b\n", "dockerfile parse error on line 2: FROM isn't allowed as an ONBUILD trigger"},
      {"FROM a\nONBUILD MAINTAINER me\n",
       "dockerfile parse error on line 2: MAINTAINER isn't allowed as an ONBUILD trigger"},
      {"FROM a\nHEALTHCHECK\n", "dockerfile parse error on line 2: HEALTHCHECK requires at least one argument"},
      {"FROM a\nHEALTHCHECK NONE x\n", "dockerfile parse error on line 2: HEALTHCHECK NONE takes no arguments"},
      {"FROM a\nHEALTHCHECK CMD\n", "dockerfile parse error on line 2: Missing command after HEALTHCHECK CMD"},
      {"FROM a\nHEALTHCHECK RUN x\n",
       "dockerfile parse error on line 2: Unknown type \"RUN\" in HEALTHCHECK (try CMD)"},
      {"FROM a\nHEALTHCHECK --interval=1us CMD x\n",
       "dockerfile parse error on line 2: Interval \"interval\" cannot be less than 1ms"},
      {"FROM a\nHEALTHCHECK --timeout=5 CMD x\n",
       "dockerfile parse error on line 2: time: missing unit in duration \"5\""},
      {"FROM a\nHEALTHCHECK --retries=-1 CMD x\n",
       "dockerfile parse error on line 2: --retries cannot be negative (-1)"},
      {"FROM a\nHEALTHCHECK --retries=x CMD x\n",
       "dockerfile parse error on line 2: strconv.ParseInt: parsing \"x\": invalid syntax"},
      {"FROM a\nRUN --network=bridge x\n", "dockerfile parse error on line 2: invalid network mode \"bridge\""},
      {"FROM a\nRUN --security=root x\n", "dockerfile parse error on line 2: security \"root\" is not valid"},
      {"FROM a\nRUN --mount=type=nope x\n", "dockerfile parse error on line 2: unsupported mount type \"nope\""},
      {"FROM a\nRUN --foo x\n", "dockerfile parse error on line 2: unknown flag: --foo"},
      {"FROM a\nENV --x=1 A=1\n", "dockerfile parse error on line 2: unknown flag: --x"},
      {"FROM a\nMAINTAINER\n", "dockerfile parse error on line 2: MAINTAINER requires exactly one argument"},
  };
  for (const auto& c : cases) {
    auto r = parseDockerfile(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().message, c.error) << c.text;
    EXPECT_EQ(r.error().code, berth::Code::InvalidArgument);
  }
}

TEST(DockerfileParse, FlagsAndKeywordCase) {
  auto df = mustParse(
      "from a\n"
      "copy --chown=\"user name\" a b\n"
      "run -- --not-a-flag\n"
      "Run --network=host echo\n"
      "STOPSIGNAL --ignored 9\n");
  EXPECT_EQ(cmd(df, 0).keyword, "copy");
  EXPECT_EQ(cmd(df, 0).kind, InstructionKind::Copy);
  EXPECT_EQ(cmd(df, 0).chown, "user name");
  EXPECT_TRUE(cmd(df, 1).flags.empty());
  EXPECT_EQ(cmd(df, 1).cmdLine, Strings{"--not-a-flag"});
  EXPECT_EQ(cmd(df, 2).network, "host");
  EXPECT_EQ(instructionName(cmd(df, 2).kind), "RUN");
}

TEST(DockerfileParse, CrlfAndBom) {
  auto df = mustParse("\xEF\xBB\xBF" "FROM a\r\nRUN echo \\\r\n  b\r\nCMD [\"x\"]\r\n");
  EXPECT_EQ(df.stages[0].baseName, "a");
  EXPECT_EQ(cmd(df, 0).cmdLine, Strings{"echo   b"});
  EXPECT_EQ(cmd(df, 1).cmdLine, Strings{"x"});
}

TEST(DockerfileParse, GoDurations) {
  EXPECT_EQ(*parseGoDuration("1h2m3s"), 3723'000'000'000);
  EXPECT_EQ(*parseGoDuration("1.5s"), 1'500'000'000);
  EXPECT_EQ(*parseGoDuration("250us"), 250'000);
  EXPECT_EQ(*parseGoDuration("0"), 0);
  EXPECT_EQ(*parseGoDuration("-2ms"), -2'000'000);
  EXPECT_FALSE(parseGoDuration(""));
  EXPECT_FALSE(parseGoDuration("s"));
  EXPECT_EQ(parseGoDuration("3x").error().message, "time: unknown unit \"x\" in duration \"3x\"");
}

}  // namespace

namespace {

TEST(DockerfileParse, HeredocBodiesAreVerbatim) {
  auto df = mustParse(
      "FROM a\n"
      "RUN <<EOF\n"
      "# not a comment here\n"
      "\n"
      "echo \\\n"
      "EOF\n"
      "RUN python3 <<PY\n"
      "print('x')\n"
      "PY\n");
  EXPECT_EQ(cmd(df, 0).heredocs.at(0).content, "# not a comment here\n\necho \\\n");
  EXPECT_EQ(cmd(df, 1).heredocs.at(0).content, "print('x')\n");
  EXPECT_EQ(cmd(df, 1).cmdLine, Strings{"python3 <<PY"});
  EXPECT_EQ(cmd(df, 1).startLine, 7);
}

TEST(DockerfileParse, MoreForms) {
  auto df = mustParse(
      "  FROM a\n"
      "\tRUN [\"echo\", \"a\\\"b\", \"\\u00e9\"]\n"
      "LABEL key value with spaces\n"
      "ENV PATH=/x:$PATH \\\n"
      "    HOME=/root\n"
      "EXPOSE 80 \\\n"
      "       443\n");
  EXPECT_EQ(cmd(df, 0).cmdLine, (Strings{"echo", "a\"b", "\xC3\xA9"}));
  EXPECT_EQ(cmd(df, 1).pairs.at(0).key, "key");
  EXPECT_EQ(cmd(df, 1).pairs.at(0).value, "value with spaces");
  EXPECT_TRUE(cmd(df, 1).pairs.at(0).noDelim);
  ASSERT_EQ(cmd(df, 2).pairs.size(), 2u);
  EXPECT_EQ(cmd(df, 2).pairs[0].value, "/x:$PATH");
  EXPECT_EQ(cmd(df, 2).pairs[1].key, "HOME");
  EXPECT_EQ(cmd(df, 3).ports, (Strings{"443", "80"}));
  auto four = parseDockerfile("FROM a AS b c\n");
  ASSERT_FALSE(four);
  EXPECT_EQ(four.error().message, "dockerfile parse error on line 1: FROM requires either one or three arguments");
  auto named = parseDockerfile("FROM a AS b.c-d_e\n");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->stages[0].name, "b.c-d_e");
}

TEST(DockerfileParse, BacktickEscapeInWordsAndFlags) {
  auto df = mustParse("# escape=`\nFROM a\nENV A=x` y B=\"q`\"r\"\nCOPY --chown=a` b c d\n");
  ASSERT_EQ(cmd(df, 0).pairs.size(), 2u);
  EXPECT_EQ(cmd(df, 0).pairs[0].value, "x` y");
  EXPECT_EQ(cmd(df, 0).pairs[1].value, "\"q`\"r\"");
  EXPECT_EQ(cmd(df, 1).chown, "a b");
}

}  // namespace

namespace {

struct HeredocCase {
  const char* line;        // a RUN line
  const char* name;        // nullptr: no heredoc
  bool expand;
};

TEST(DockerfileParse, HeredocDelimiterTable) {
  const HeredocCase cases[] = {
      {"RUN <<EOF", "EOF", true},
      {"RUN <<'EOF'", "EOF", false},
      {"RUN <<\"EOF\"", "EOF", false},
      {"RUN <<-EOF", "EOF", true},
      {"RUN <<EO\"F\"", "EOF", false},
      {"RUN << EOF", "EOF", true},
      {"RUN <<- EOF", nullptr, true},  // the line lexer splits "<<-" from "EOF"
      {"RUN <<eo\\'f", "eo'f", true},
      {"RUN <<'e'o\\'f", "eo'f", false},
      {"RUN <<'one two'", "one two", false},
      {"RUN <<$EOF", "$EOF", true},
      {"RUN <<  EOF  > foo", "EOF", true},
      {"RUN \"<<NOHEREDOC\"", nullptr, true},
      {"RUN <<<EOF", nullptr, true},
      {"RUN <EOF", nullptr, true},
      {"RUN <<", nullptr, true},
  };
  for (const auto& c : cases) {
    std::string name = c.name ? c.name : "";
    std::string text = std::string("FROM a\n") + c.line + (c.name ? "\nbody\n" + name + "\n" : "\n");
    auto r = parseDockerfile(text);
    ASSERT_TRUE(r) << c.line << ": " << r.error().message;
    const auto& ins = r->stages[0].commands.at(0);
    if (!c.name) {
      EXPECT_TRUE(ins.heredocs.empty()) << c.line;
      continue;
    }
    ASSERT_EQ(ins.heredocs.size(), 1u) << c.line;
    EXPECT_EQ(ins.heredocs[0].name, c.name) << c.line;
    EXPECT_EQ(ins.heredocs[0].expand, c.expand) << c.line;
    EXPECT_EQ(ins.heredocs[0].content, "body\n") << c.line;
  }
  auto bad = parseDockerfile("FROM a\nRUN <<'EOF\nx\n");
  ASSERT_FALSE(bad);
  // An unbalanced quote makes the line no heredoc at all (BuildKit ignores
  // the lexing error), so the body line is read as an instruction.
  EXPECT_EQ(bad.error().message, "dockerfile parse error on line 3: unknown instruction: x");
}

}  // namespace

#include "build/suggest.h"

namespace {

TEST(BuildSuggest, EditDistanceAndCase) {
  const std::vector<std::string> names = {"copy", "from", "run"};
  EXPECT_EQ(withSuggestion("x", "RUNN", names, false), "x (did you mean RUN?)");
  EXPECT_EQ(withSuggestion("x", "Runn", names, false), "x (did you mean run?)");
  EXPECT_EQ(withSuggestion("x", "cpy", names, false), "x (did you mean copy?)");
  EXPECT_EQ(withSuggestion("x", "xyzzy", names, false), "x");
  EXPECT_EQ(withSuggestion("x", "RUN", names, false), "x");  // an exact name gets no hint
  EXPECT_EQ(withSuggestion("x", "Run", names, true), "x (did you mean run?)");
}

}  // namespace
