// proto_convert (Iggy's transform, same option names): protobuf <-> JSON inside a chain, on the
// proto codec (codecs/protobuf.cpp) with the transform's own schema options.

#include <chrono>

#include "codecs/json_dom.h"
#include "codecs/value.h"
#include "transforms/convert_util.h"
#include "transforms/transform.h"

namespace trib::transforms {

namespace {

class proto_convert final : public transform {
  public:
    proto_convert(std::unique_ptr<codecs::codec> proto, std::string source, std::string target,
                  bool include_metadata, std::string message_type)
        : proto_(std::move(proto)),
          source_(std::move(source)),
          target_(std::move(target)),
          include_metadata_(include_metadata),
          message_type_(std::move(message_type)) {}

    std::string_view name() const override { return "proto_convert"; }

    result<verdict> apply(codecs::record& rec, codecs::arena& a,
                          const transform_context&) const override {
        if (source_ == target_)
            return verdict::keep;
        if (source_ == "proto")
            TRIB_TRY(from_proto(rec, a));
        else
            TRIB_TRY(to_proto(rec, a));
        rec.modified = true;
        return verdict::keep;
    }

  private:
    // Proto bytes (a raw/text record: the stream's schema is raw) -> a JSON record, or text.
    status from_proto(codecs::record& rec, codecs::arena& a) const {
        if (rec.kind != codecs::record_kind::raw && rec.kind != codecs::record_kind::text)
            return codecs::bad_payload(
                "proto_convert: source_format = \"proto\" needs the payload bytes (stream "
                "schema = \"raw\"), got a " +
                std::string(codecs::to_string(rec.kind)) + " record");
        codecs::record typed;
        TRIB_TRY(proto_->decode(rec.bytes, a, typed));
        TRIB_TRY(codecs::typed_to_json_record(typed, a));
        if (include_metadata_ && typed.kind == codecs::record_kind::json) {
            // Iggy's shape: {"data": ..., "metadata": {converted_from, timestamp, message_type}}.
            auto& al = codecs::allocator_of(a);
            codecs::json_value* wrapped = a.get().new_value();
            wrapped->SetObject();
            codecs::json_value meta(rapidjson::kObjectType);
            meta.AddMember("converted_from", "protobuf", al);
            auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
            meta.AddMember("timestamp", codecs::json_value(static_cast<std::int64_t>(now)), al);
            meta.AddMember(
                "message_type",
                codecs::json_value(message_type_.empty() ? "unknown" : message_type_.c_str(), al),
                al);
            wrapped->AddMember("data", codecs::json_of(typed), al);
            wrapped->AddMember("metadata", meta, al);
            codecs::set_json(typed, wrapped);
        }
        return emit_json(target_, typed, a, rec);
    }

    // A JSON record (or JSON text in a raw/text record) -> proto bytes in a raw record; the
    // stream's schema must be raw so that the bytes are written as they are.
    status to_proto(codecs::record& rec, codecs::arena& a) const {
        codecs::record in;
        TRIB_TRY(json_input(rec, a, in));
        std::string bytes;
        TRIB_TRY(proto_->encode(in, a, bytes));
        set_raw_bytes(rec, a, bytes);
        return ok();
    }

    std::unique_ptr<codecs::codec> proto_;
    std::string source_, target_;
    bool include_metadata_;
    std::string message_type_;
};

}  // namespace

config::spec proto_convert_spec() {
    config::spec s = codecs::proto_codec_spec();
    s.name = "proto_convert";
    s.kind = config::spec_kind::transform;
    s.summary = "Converts between protobuf and JSON (Iggy's proto_convert).";
    s.description =
        "source_format = \"proto\": the payload bytes (stream schema = \"raw\") are decoded with "
        "the schema options below (those of the proto codec) and become a JSON record "
        "(target_format = \"json\") or its JSON text (\"text\", \"raw\"). target_format = "
        "\"proto\": a JSON record (or JSON text) is encoded and becomes the payload bytes (use "
        "stream schema = \"raw\" so that they are written as they are). A payload that does not "
        "convert goes to the error policy (Iggy falls back to other shapes). "
        "conversion_options.include_metadata wraps the result as Iggy does; pretty_json, "
        "validate_messages, strict_mode and type_url_prefix are accepted and have no effect "
        "(output is compact; messages are always validated).";
    auto src = config::opt_or_absent("source_format", config::opt_type::enumeration,
                                     "Format of the input.", "\"proto\"");
    src.choices = {"proto", "json", "text", "raw"};
    auto dst = config::opt_or_absent("target_format", config::opt_type::enumeration,
                                     "Format of the output.", "\"json\"");
    dst.choices = {"json", "text", "raw", "proto"};
    auto co = config::opt_or_absent("conversion_options", config::opt_type::table,
                                    "Iggy's conversion options.", std::nullopt);
    co.children = {
        config::opt_or_absent("validate_messages", config::opt_type::boolean,
                              "Accepted (always on).", "true"),
        config::opt_or_absent("pretty_json", config::opt_type::boolean, "Accepted (no effect).",
                              "false"),
        config::opt_or_absent("include_metadata", config::opt_type::boolean,
                              "Wrap protobuf -> JSON results as {\"data\", \"metadata\"}.",
                              "false"),
        config::opt_or_absent("type_url_prefix", config::opt_type::string, "Accepted (no effect).",
                              "\"type.googleapis.com\""),
        config::opt_or_absent("strict_mode", config::opt_type::boolean, "Accepted (no effect).",
                              "false"),
    };
    s.options.insert(s.options.begin(), {src, dst});
    s.options.push_back(co);
    auto codec_check = s.check;
    s.check = [codec_check](const config::values& v, const config::check_report& report) {
        if (codec_check)
            codec_check(v, report);
        const std::string a = v.str("source_format"), b = v.str("target_format");
        if (a != b && a != "proto" && b != "proto")
            report("target_format", "one of source_format and target_format must be \"proto\"");
    };
    s.example =
        "[transforms.proto_convert]\nenabled = true\nsource_format = \"proto\"\n"
        "target_format = \"json\"\nschema_path = \"schemas/reading.proto\"\n"
        "message_type = \"iot.Reading\"";
    return s;
}

result<std::unique_ptr<transform>> make_proto_convert(const config::values& v) {
    TRIB_ASSIGN_OR_RETURN(auto proto, codecs::make_proto_codec(v));
    bool meta = false;
    if (v.has("conversion_options"))
        meta = v.table("conversion_options").boolean("include_metadata");
    return std::unique_ptr<transform>(std::make_unique<proto_convert>(
        std::move(proto), v.str("source_format"), v.str("target_format"), meta,
        v.opt_str("message_type").value_or("")));
}

}  // namespace trib::transforms
