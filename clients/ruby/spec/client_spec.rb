# frozen_string_literal: true

require "socket"

RSpec.describe Loge::Client do
  let(:fake) { FakeLoge.new }
  let(:loggers) { [] }

  after do
    loggers.each { |l| l.close(timeout: 0.2) }
    fake.stop
  end

  # A logger whose batches leave only when full or flushed, unless opts say otherwise.
  def new_logger(url = fake.url, **opts)
    Loge::Logger.new(url, batch_interval: 3600, **opts).tap { |l| loggers << l }
  end

  def log_range(logger, range)
    range.each { |i| logger.info(i.to_s) }
  end

  def numbers(range)
    range.map(&:to_s)
  end

  it "pushes a full batch without waiting for the interval" do
    logger = new_logger(batch_size: 10)
    log_range(logger, 0...25)
    wait_until("two full batches") { fake.requests.size == 2 }
    expect(logger.flush(timeout: 10)).to be(true)
    expect(fake.requests.map { |r| r.records.size }).to eq([10, 10, 5])
    expect(fake.messages).to eq(numbers(0...25))
    expect(logger.stats).to eq(sent: 25, dropped: 0, failed: 0, retries: 0, pending: 0)
  end

  it "pushes a partial batch once its oldest line has waited batch_interval" do
    logger = new_logger(batch_interval: 0.02)
    logger.info("alone")
    wait_until("the interval's push") { fake.records.size == 1 }
    logger.info("again, after the worker went idle")
    wait_until("the second interval's push") { fake.records.size == 2 }
  end

  it "drops the oldest lines when the buffer is full, and counts them" do
    release = Queue.new
    fake.respond { |n, _res| release.pop if n.zero? } # the server hangs on the first batch
    logger = new_logger(batch_size: 2, buffer_size: 3)
    log_range(logger, 0...2)
    wait_until("the first batch in flight") { fake.requests.size == 1 }
    log_range(logger, 2...8) # the buffer keeps 5 6 7
    expect(logger.stats).to include(dropped: 3, pending: 5)
    release << :go
    expect(logger.flush(timeout: 10)).to be(true)
    expect(fake.messages).to eq(%w[0 1 5 6 7])
    expect(logger.stats).to include(sent: 5, dropped: 3)
  end

  it "bounds the buffer's bytes too" do
    logger = new_logger(buffer_bytes: 300)
    10.times { |i| logger.info(msg: i.to_s, pad: "x" * 80) } # ~100 bytes a line
    logger.flush(timeout: 10)
    expect(fake.messages).to eq(%w[7 8 9])
    expect(logger.stats[:dropped]).to eq(7)
  end

  it "never blocks the application while the server is unreachable" do
    port = TCPServer.open("127.0.0.1", 0) { |s| s.addr[1] } # closed again: pushes are refused
    logger = new_logger("http://127.0.0.1:#{port}", batch_size: 10, buffer_size: 100, batch_interval: 0.001,
                                                    max_retries: 1000, min_backoff: 0.001, max_backoff: 0.001)
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    log_range(logger, 0...20_000)
    # Generous: 20,000 calls that never wait take well under a second; one
    # that waited on the network would take minutes.
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 30
    expect(logger.stats[:pending]).to be <= 110
    expect(logger.stats[:dropped]).to be >= 20_000 - 110
    # The sender retried meanwhile (on a busy machine its thread may only now
    # get to run: wait for it, not for a time).
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
    sleep 0.01 until logger.stats[:retries].positive? || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
    expect(logger.stats[:retries]).to be > 0
    expect(logger.close(timeout: 0.05)).to be(false)
    expect(logger.stats).to include(dropped: 20_000, pending: 0)
  end

  it "retries 5xx answers with backoff, sending the same body" do
    fake.respond { |n, res| res.status = [503, 500][n] || 200 }
    logger = new_logger(min_backoff: 0.02, max_backoff: 0.04)
    log_range(logger, 0...3)
    expect(logger.flush(timeout: 10)).to be(true)
    reqs = fake.requests
    expect(reqs.size).to eq(3)
    expect(reqs.map(&:raw).uniq.size).to eq(1)
    # Jittered backoff: at least half of min_backoff, doubled the second time.
    expect(reqs[1].at - reqs[0].at).to be >= 0.01
    expect(reqs[2].at - reqs[1].at).to be >= 0.02
    expect(logger.stats).to include(sent: 3, retries: 2, failed: 0)
  end

  it "waits the server's Retry-After on a 429" do
    fake.respond do |n, res|
      if n.zero?
        res.status = 429
        res["Retry-After"] = "1"
      end
    end
    logger = new_logger(min_backoff: 0.001, max_backoff: 0.001)
    logger.info("later")
    expect(logger.flush(timeout: 10)).to be(true)
    reqs = fake.requests
    expect(reqs.size).to eq(2)
    expect(reqs[1].at - reqs[0].at).to be >= 1.0
  end

  it "reads Retry-After as seconds or an HTTP date, capped" do
    expect(described_class.parse_retry_after(nil)).to be_nil
    expect(described_class.parse_retry_after("3")).to eq(3.0)
    expect(described_class.parse_retry_after("-1")).to eq(0.0)
    expect(described_class.parse_retry_after("junk")).to be_nil
    expect(described_class.parse_retry_after("86400")).to eq(described_class::MAX_RETRY_AFTER)
    expect(described_class.parse_retry_after((Time.now + 5).httpdate)).to be_between(3.0, 5.0)
  end

  it "gives a batch up after max_retries and reports it" do
    fake.respond { |_n, res| res.status = 502 }
    errors = Queue.new
    logger = new_logger(max_retries: 2, min_backoff: 0.001, on_error: ->(e) { errors << e })
    log_range(logger, 0...4)
    expect(logger.flush(timeout: 10)).to be(false)
    expect(fake.requests.size).to eq(3)
    expect(logger.stats).to include(failed: 4, sent: 0, pending: 0)
    expect(logger.client.last_error).to be_a(Loge::Client::PushError)
    expect(logger.client.last_error.status).to eq(502)
    expect(errors.pop.message).to include("after 3 attempts")
  end

  it "does not retry a 400 and keeps the server's message" do
    fake.respond do |_n, res|
      res.status = 400
      res.body = '{"status":"error","error":"streams[0].stream: no labels"}'
    end
    logger = new_logger(min_backoff: 0.001)
    logger.info("x")
    expect(logger.flush(timeout: 10)).to be(false)
    expect(fake.requests.size).to eq(1)
    expect(logger.client.last_error.message).to eq("loge push answered 400: streams[0].stream: no labels")
    expect(logger.stats).to include(failed: 1, retries: 0)
  end

  it "sends the API key as a bearer token, and no header without one" do
    with_key = new_logger(api_key: "s3cret")
    with_key.info("x")
    with_key.flush(timeout: 10)
    without = new_logger
    without.info("y")
    without.flush(timeout: 10)
    expect(fake.requests.map { |r| r.headers["authorization"] }).to eq(["Bearer s3cret", nil])
    expect(fake.requests.first.headers["content-type"]).to eq("application/json")
  end

  it "delivers what is buffered on close, then drops later lines" do
    logger = new_logger
    log_range(logger, 0...5)
    expect(logger.close).to be(true)
    expect(fake.messages).to eq(numbers(0...5))
    logger.info("late")
    expect(logger.stats).to include(sent: 5, dropped: 1)
    expect(logger.flush(timeout: 1)).to be(true)
    expect(logger.close).to be(true)
  end

  it "gives up on close when the timeout ends, counting what is left as dropped" do
    fake.respond { |_n, res| res.status = 503 }
    logger = new_logger(min_backoff: 3600, max_backoff: 3600)
    log_range(logger, 0...3)
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    expect(logger.close(timeout: 0.1)).to be(false)
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 5
    expect(logger.stats).to include(dropped: 3, pending: 0, sent: 0)
  end

  it "returns false from flush when its timeout ends, keeping the batch" do
    fake.respond { |_n, res| res.status = 503 }
    logger = new_logger(min_backoff: 3600, max_backoff: 3600)
    logger.info("x")
    expect(logger.flush(timeout: 0.05)).to be(false)
    expect(logger.stats).to include(pending: 1, failed: 0)
  end

  it "drops a line longer than max_line_bytes alone" do
    logger = new_logger(max_line_bytes: 100)
    logger.info("x" * 200)
    logger.info("short")
    logger.flush(timeout: 10)
    expect(fake.messages).to eq(%w[short])
    expect(logger.stats[:dropped]).to eq(1)
  end

  it "loses nothing from many threads" do
    logger = new_logger(batch_size: 100, buffer_size: 100_000, batch_interval: 0.001)
    8.times.map { |t| Thread.new { 500.times { |i| logger.info("#{t}-#{i}") } } }.each(&:join)
    expect(logger.close).to be(true)
    expect(fake.records.size).to eq(4000)
  end

  it "starts its own worker in a forked child" do
    logger = new_logger
    logger.info("parent")
    pid = fork do
      logger.info("child")
      exit!(logger.close(timeout: 10) ? 0 : 1)
    end
    _, status = Process.wait2(pid)
    expect(status.exitstatus).to eq(0)
    logger.flush(timeout: 10)
    expect(fake.messages.sort).to eq(%w[child parent])
  end
end
