// The nats-server peer and the test-side client; see nats_fixture.h.

#include "nats_fixture.h"

#include <atomic>
#include <cstdlib>

namespace trib::test {
namespace {

error nats_error(natsStatus s, const std::string& what) {
    return error(errc::unavailable, what + ": " + natsStatus_GetText(s));
}

}  // namespace

peer_spec nats_spec(std::vector<std::string> extra) {
    peer_spec s;
    s.name = "nats-server";
    s.program = "nats-server";
    s.args = {"-a", "127.0.0.1", "-p", "{port}", "-m", "{port1}", "-js", "-sd", "{dir}/js"};
    for (auto& a : extra)
        s.args.push_back(std::move(a));
    s.extra_ports = 1;
    // Ready once JetStream answers: the monitoring port's /healthz says ok only then; a client
    // connection alone is too early for the first stream create.
    s.ready = [](const peer& p) { return tcp_connectable(p.port()) && tcp_connectable(p.port(1)); };
    return s;
}

result<std::unique_ptr<nats_test_client>> nats_test_client::connect(std::uint16_t port) {
    std::unique_ptr<nats_test_client> c(new nats_test_client());
    const std::string url = "nats://127.0.0.1:" + std::to_string(port);
    natsOptions* o = nullptr;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url.c_str());
    natsOptions_SetMaxReconnect(o, -1);
    natsOptions_SetReconnectWait(o, 50);
    natsStatus s = natsConnection_Connect(&c->nc_, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK)
        return nats_error(s, "connect " + url);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 10000;
    s = natsConnection_JetStream(&c->js_, c->nc_, &jo);
    if (s != NATS_OK)
        return nats_error(s, "jetstream");
    return c;
}

nats_test_client::~nats_test_client() {
    if (js_ != nullptr)
        jsCtx_Destroy(js_);
    if (nc_ != nullptr)
        natsConnection_Destroy(nc_);
}

status nats_test_client::add_stream(const std::string& name,
                                    const std::vector<std::string>& subjects,
                                    std::chrono::milliseconds duplicate_window) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name.c_str();
    std::vector<const char*> subs;
    for (const auto& x : subjects)
        subs.push_back(x.c_str());
    cfg.Subjects = subs.data();
    cfg.SubjectsLen = static_cast<int>(subs.size());
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = static_cast<int64_t>(duplicate_window.count()) * 1000000;
    jsStreamInfo* si = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    // JetStream may still be starting right after the server came up: retry for a while.
    natsStatus s = NATS_ERR;
    wait_until(
        [&] {
            s = js_AddStream(&si, js_, &cfg, nullptr, &code);
            return s == NATS_OK || code == JSStreamNameExistErr;
        },
        std::chrono::seconds(20));
    if (si != nullptr)
        jsStreamInfo_Destroy(si);
    if (s != NATS_OK && code != JSStreamNameExistErr)
        return nats_error(s, "add stream " + name + " (js " + std::to_string(code) + ")");
    return ok();
}

status nats_test_client::publish(const std::string& subject, const std::string& payload,
                                 const std::map<std::string, std::string>& headers) {
    natsMsg* m = nullptr;
    natsMsg_Create(&m, subject.c_str(), nullptr, payload.data(), static_cast<int>(payload.size()));
    for (const auto& [k, v] : headers)
        natsMsgHeader_Add(m, k.c_str(), v.c_str());
    jsPubAck* pa = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_PublishMsg(&pa, js_, m, nullptr, &code);
    natsMsg_Destroy(m);
    if (pa != nullptr)
        jsPubAck_Destroy(pa);
    if (s != NATS_OK)
        return nats_error(s, "publish " + subject);
    return ok();
}

status nats_test_client::publish_many(const std::string& subject, const std::string& prefix,
                                      std::size_t from, std::size_t n, int subjects) {
    for (std::size_t i = from; i < from + n; ++i) {
        const std::string subj =
            subjects > 1 ? subject + "." + std::to_string(i % static_cast<std::size_t>(subjects))
                         : subject;
        const std::string payload = prefix + std::to_string(i);
        natsStatus s = js_PublishAsync(js_, subj.c_str(), payload.data(),
                                       static_cast<int>(payload.size()), nullptr);
        if (s != NATS_OK)
            return nats_error(s, "publish async");
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 120000;
    natsStatus s = js_PublishAsyncComplete(js_, &po);
    if (s != NATS_OK)
        return nats_error(s, "publish async complete");
    return ok();
}

std::uint64_t nats_test_client::stream_messages(const std::string& stream) {
    jsStreamInfo* si = nullptr;
    if (js_GetStreamInfo(&si, js_, stream.c_str(), nullptr, nullptr) != NATS_OK || si == nullptr)
        return 0;
    const std::uint64_t n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

std::pair<std::uint64_t, std::uint64_t> nats_test_client::consumer_backlog(
    const std::string& stream, const std::string& consumer) {
    jsConsumerInfo* ci = nullptr;
    if (js_GetConsumerInfo(&ci, js_, stream.c_str(), consumer.c_str(), nullptr, nullptr) !=
            NATS_OK ||
        ci == nullptr)
        return {~0ull, ~0ull};
    std::pair<std::uint64_t, std::uint64_t> out{ci->NumPending,
                                                static_cast<std::uint64_t>(ci->NumAckPending)};
    jsConsumerInfo_Destroy(ci);
    return out;
}

result<std::vector<nats_record>> nats_test_client::read_stream(const std::string& stream) {
    static std::atomic<int> n{0};
    const std::uint64_t total = stream_messages(stream);
    std::vector<nats_record> out;
    if (total == 0)
        return out;
    const std::string durable = "reader" + std::to_string(::getpid()) + "_" + std::to_string(++n);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = durable.c_str();
    cc.AckPolicy = js_AckNone;
    cc.DeliverPolicy = js_DeliverAll;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_AddConsumer(nullptr, js_, stream.c_str(), &cc, nullptr, &code);
    if (s != NATS_OK)
        return nats_error(s, "reader consumer (js " + std::to_string(code) + ")");
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Consumer = durable.c_str();
    natsSubscription* sub = nullptr;
    s = js_PullSubscribe(&sub, js_, nullptr, durable.c_str(), nullptr, &so, &code);
    if (s != NATS_OK)
        return nats_error(s, "reader subscribe (js " + std::to_string(code) + ")");
    int empty_fetches = 0;
    while (out.size() < total && empty_fetches < 5) {
        natsMsgList list{};
        s = natsSubscription_Fetch(&list, sub, 1000, 2000, &code);
        if (s == NATS_TIMEOUT) {
            ++empty_fetches;
            continue;
        }
        if (s != NATS_OK)
            break;
        for (int i = 0; i < list.Count; ++i) {
            natsMsg* m = list.Msgs[i];
            nats_record r;
            r.subject = natsMsg_GetSubject(m);
            r.payload.assign(natsMsg_GetData(m),
                             static_cast<std::size_t>(natsMsg_GetDataLength(m)));
            const char** keys = nullptr;
            int kn = 0;
            if (natsMsgHeader_Keys(m, &keys, &kn) == NATS_OK) {
                for (int k = 0; k < kn; ++k) {
                    const char* v = nullptr;
                    if (natsMsgHeader_Get(m, keys[k], &v) == NATS_OK && v != nullptr)
                        r.headers[keys[k]] = v;
                }
                std::free(static_cast<void*>(keys));
            }
            jsMsgMetaData* meta = nullptr;
            if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
                r.sequence = meta->Sequence.Stream;
                jsMsgMetaData_Destroy(meta);
            }
            out.push_back(std::move(r));
        }
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Destroy(sub);
    (void)js_DeleteConsumer(js_, stream.c_str(), durable.c_str(), nullptr, nullptr);
    return out;
}

}  // namespace trib::test
