# frozen_string_literal: true

RSpec.describe Loge::Logger do
  let(:fake) { FakeLoge.new }
  let(:loggers) { [] }

  after do
    loggers.each { |l| l.close(timeout: 0.2) }
    fake.stop
  end

  # A logger whose batches leave only when flushed.
  def new_logger(**opts)
    Loge::Logger.new(fake.url, batch_interval: 3600, **opts).tap { |l| loggers << l }
  end

  def lines(logger)
    expect(logger.flush(timeout: 10)).to be(true)
    fake.records.map { |r| JSON.parse(r[:line]) }
  end

  it "is a ::Logger" do
    expect(new_logger).to be_a(::Logger)
  end

  it "sends the message as a JSON line, the severity as the level label and the time as the timestamp" do
    logger = new_logger(labels: { app: "shop", env: "test" })
    before = Process.clock_gettime(Process::CLOCK_REALTIME, :nanosecond)
    logger.warn("disk nearly full")
    after = Process.clock_gettime(Process::CLOCK_REALTIME, :nanosecond)
    logger.flush(timeout: 10)
    rec = fake.records.fetch(0)
    expect(rec[:line]).to eq('{"msg":"disk nearly full"}')
    expect(rec[:labels]).to eq("app" => "shop", "env" => "test", "level" => "warn")
    expect(rec[:ts]).to be_a(String)
    expect(Integer(rec[:ts])).to be_between(before, after)
  end

  it "maps every severity to its own level label and stream" do
    logger = new_logger
    logger.debug("d")
    logger.info("i")
    logger.warn("w")
    logger.error("e")
    logger.fatal("f")
    logger.unknown("u")
    logger.info("i2")
    logger.flush(timeout: 10)
    streams = fake.requests.fetch(0).body["streams"].map do |s|
      [s["stream"]["level"], s["values"].map { |v| JSON.parse(v[1])["msg"] }]
    end
    expect(streams).to eq([["debug", %w[d]], ["info", %w[i i2]], ["warn", %w[w]], ["error", %w[e]],
                           ["fatal", %w[f]], ["unknown", %w[u]]])
  end

  it "leaves out severities below its level" do
    logger = new_logger(level: ::Logger::WARN)
    logger.info("quiet")
    logger.error("loud")
    expect(lines(logger).map { |l| l["msg"] }).to eq(%w[loud])
  end

  it "puts progname and block messages in the line as ::Logger does" do
    logger = new_logger(progname: "worker")
    logger.info("plain")
    logger.info("billing") { "from a block" }
    logger.add(::Logger::INFO, nil, "progname as message")
    expect(lines(logger)).to eq([
                                  { "msg" => "plain", "progname" => "worker" },
                                  { "msg" => "from a block", "progname" => "billing" },
                                  { "msg" => "progname as message", "progname" => "worker" }
                                ])
  end

  it "turns a hash message into the message and attributes" do
    logger = new_logger(attributes: { service: "api" })
    logger.info(msg: "order placed", order_id: 17, total: 12.5, tags_in: %w[a b], nested: { ok: true })
    logger.info(message: "alt key", user: nil)
    logger.info(only: "attributes")
    expect(lines(logger)).to eq([
                                  { "msg" => "order placed", "service" => "api", "order_id" => 17, "total" => 12.5,
                                    "tags_in" => %w[a b], "nested" => { "ok" => true } },
                                  { "msg" => "alt key", "service" => "api", "user" => nil },
                                  { "msg" => "", "service" => "api", "only" => "attributes" }
                                ])
  end

  it "records an exception's class, message and backtrace" do
    logger = new_logger
    begin
      raise ArgumentError, "bad input"
    rescue ArgumentError => e
      logger.error(e)
    end
    line = lines(logger).fetch(0)
    expect(line["msg"]).to eq("bad input (ArgumentError)")
    expect(line["exception"]).to include("class" => "ArgumentError", "message" => "bad input")
    expect(line["exception"]["backtrace"].first).to include("logger_spec.rb")
  end

  it "adds attributes with #with, sharing the client" do
    logger = new_logger(attributes: { a: 1 })
    child = logger.with(request_id: "r-1")
    expect(child.client).to be(logger.client)
    child.info("in request")
    logger.info("outside")
    expect(lines(logger)).to eq([{ "msg" => "in request", "a" => 1, "request_id" => "r-1" },
                                 { "msg" => "outside", "a" => 1 }])
  end

  it "names the caller when add_source is on" do
    logger = new_logger(add_source: true)
    logger.info("here")
    line_no = __LINE__ - 1
    source = lines(logger).fetch(0)["source"]
    expect(source["file"]).to end_with("spec/logger_spec.rb")
    expect(source["line"]).to eq(line_no)
  end

  it "renders valid JSON from invalid UTF-8, odd encodings, NaN and arbitrary objects" do
    logger = new_logger
    logger.info(msg: "bytes \xFF here".b, latin: "caf\xE9".dup.force_encoding("ISO-8859-1"),
                nan: Float::NAN, inf: -Float::INFINITY, sym: :ok, time: Time.utc(2026, 1, 2, 3, 4, 5),
                obj: Object.new.tap { |o| o.define_singleton_method(:to_s) { "custom" } },
                "quote\"key" => "line\nbreak")
    line = lines(logger).fetch(0)
    expect(line).to eq("msg" => "bytes \uFFFD here", "latin" => "café", "nan" => "NaN", "inf" => "-Infinity",
                       "sym" => "ok", "time" => "2026-01-02T03:04:05.000000000Z", "obj" => "custom",
                       "quote\"key" => "line\nbreak")
  end

  it "sends << text as an unknown line" do
    logger = new_logger
    logger << "raw text\n"
    logger.flush(timeout: 10)
    rec = fake.records.fetch(0)
    expect([rec[:labels]["level"], JSON.parse(rec[:line])]).to eq(["unknown", { "msg" => "raw text" }])
  end

  it "rejects an invalid label name or endpoint" do
    expect { Loge::Logger.new(fake.url, labels: { "bad-name" => "x" }) }.to raise_error(ArgumentError, /bad-name/)
    expect { Loge::Logger.new("localhost:3000") }.to raise_error(ArgumentError, /want http/)
    expect { Loge::Logger.new(fake.url, batch_sise: 5) }.to raise_error(ArgumentError, /batch_sise/)
  end

  it "appends the push path to the endpoint once" do
    ["http://h:1", "http://h:1/", "http://h:1/api/v1/push"].each do |url|
      expect(Loge::Client.new(url).uri.to_s).to eq("http://h:1/api/v1/push")
    end
  end
end
