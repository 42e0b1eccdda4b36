// flat_buffer_convert (Iggy's transform, same option names): FlatBuffers <-> JSON inside a chain,
// on the flat_buffer codec (codecs/flatbuffers.cpp) with the transform's own schema options.

#include "codecs/json_dom.h"
#include "codecs/value.h"
#include "transforms/convert_util.h"
#include "transforms/transform.h"

namespace trib::transforms {

namespace {

class flat_buffer_convert final : public transform {
  public:
    flat_buffer_convert(std::unique_ptr<codecs::codec> fb, std::string source, std::string target)
        : fb_(std::move(fb)), source_(std::move(source)), target_(std::move(target)) {}

    std::string_view name() const override { return "flat_buffer_convert"; }

    result<verdict> apply(codecs::record& rec, codecs::arena& a,
                          const transform_context&) const override {
        if (source_ == target_)
            return verdict::keep;
        if (source_ == "flat_buffer")
            TRIB_TRY(from_flat_buffer(rec, a));
        else
            TRIB_TRY(to_flat_buffer(rec, a));
        rec.modified = true;
        return verdict::keep;
    }

  private:
    // FlatBuffer bytes (a raw/text record: the stream's schema is raw) -> a JSON record, or its
    // text.
    status from_flat_buffer(codecs::record& rec, codecs::arena& a) const {
        if (rec.kind != codecs::record_kind::raw && rec.kind != codecs::record_kind::text)
            return codecs::bad_payload(
                "flat_buffer_convert: source_format = \"flat_buffer\" needs the payload bytes "
                "(stream schema = \"raw\"), got a " +
                std::string(codecs::to_string(rec.kind)) + " record");
        codecs::record typed;
        TRIB_TRY(fb_->decode(rec.bytes, a, typed));
        TRIB_TRY(codecs::typed_to_json_record(typed, a));
        return emit_json(target_, typed, a, rec);
    }

    // A JSON or typed record (or JSON text in a raw/text record) -> FlatBuffer bytes in a raw
    // record (stream schema = "raw" writes them as they are).
    status to_flat_buffer(codecs::record& rec, codecs::arena& a) const {
        codecs::record in;
        TRIB_TRY(json_input(rec, a, in));
        std::string bytes;
        TRIB_TRY(fb_->encode(in, a, bytes));
        set_raw_bytes(rec, a, bytes);
        return ok();
    }

    std::unique_ptr<codecs::codec> fb_;
    std::string source_, target_;
};

}  // namespace

config::spec flat_buffer_convert_spec() {
    config::spec s = codecs::flat_buffer_codec_spec();
    s.name = "flat_buffer_convert";
    s.kind = config::spec_kind::transform;
    s.summary = "Converts between FlatBuffers and JSON (Iggy's flat_buffer_convert).";
    s.description =
        "source_format = \"flat_buffer\": the payload bytes (stream schema = \"raw\") are "
        "verified and decoded with the schema options below (those of the flat_buffer codec) "
        "and become a JSON record (target_format = \"json\") or its JSON text (\"text\", "
        "\"raw\"). target_format = \"flat_buffer\": a JSON record (or JSON text) is encoded by "
        "the schema and becomes the payload bytes (use stream schema = \"raw\"). field_mappings "
        "(old = \"new\") rename decoded fields, and rename the JSON's fields before encoding, as "
        "in Iggy. A payload that does not convert goes to the error policy (Iggy passes "
        "unsupported pairs through unchanged and describes buffers instead of decoding them). "
        "conversion_options are accepted; verify_buffers cannot turn verification off, the "
        "others have no effect (output is compact).";
    auto src = config::opt_or_absent("source_format", config::opt_type::enumeration,
                                     "Format of the input.", "\"flat_buffer\"");
    src.choices = {"flat_buffer", "json", "text", "raw"};
    auto dst = config::opt_or_absent("target_format", config::opt_type::enumeration,
                                     "Format of the output.", "\"json\"");
    dst.choices = {"json", "text", "raw", "flat_buffer"};
    auto co = config::opt_or_absent("conversion_options", config::opt_type::table,
                                    "Iggy's conversion options.", std::nullopt);
    co.children = {
        config::opt_or_absent("verify_buffers", config::opt_type::boolean,
                              "Accepted (buffers are always verified).", "true"),
        config::opt_or_absent("pretty_json", config::opt_type::boolean, "Accepted (no effect).",
                              "false"),
        config::opt_or_absent("include_metadata", config::opt_type::boolean,
                              "Accepted (no effect; Iggy's FlatBuffers path adds none either).",
                              "false"),
        config::opt_or_absent("buffer_size_hint", config::opt_type::integer,
                              "Accepted (no effect).", "1024"),
        config::opt_or_absent("strict_mode", config::opt_type::boolean, "Accepted (no effect).",
                              "false"),
    };
    s.options.insert(s.options.begin(), {src, dst});
    s.options.push_back(co);
    s.check = [](const config::values& v, const config::check_report& report) {
        const std::string a = v.str("source_format"), b = v.str("target_format");
        if (a != b && a != "flat_buffer" && b != "flat_buffer")
            report("target_format",
                   "one of source_format and target_format must be \"flat_buffer\"");
        if (a != b && !v.has("schema_path"))
            report("schema_path", "is required to convert FlatBuffers (Tributary decodes them)");
    };
    s.example =
        "[transforms.flat_buffer_convert]\nenabled = true\nsource_format = \"flat_buffer\"\n"
        "target_format = \"json\"\nschema_path = \"schemas/reading.fbs\"\n"
        "root_table_name = \"iot.Reading\"";
    return s;
}

result<std::unique_ptr<transform>> make_flat_buffer_convert(const config::values& v) {
    const std::string target = v.str("target_format");
    TRIB_ASSIGN_OR_RETURN(auto fb, codecs::make_flat_buffer_codec_for(v, target == "flat_buffer"));
    return std::unique_ptr<transform>(
        std::make_unique<flat_buffer_convert>(std::move(fb), v.str("source_format"), target));
}

}  // namespace trib::transforms
