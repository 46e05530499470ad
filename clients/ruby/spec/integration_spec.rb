# frozen_string_literal: true

require "fileutils"
require "net/http"
require "timeout"
require "tmpdir"

# Against the real loge binary named by $LOGE_BIN (ctest sets it).
RSpec.describe "Loge against the real server" do
  # Starts $LOGE_BIN on a free port in a temp directory; returns its base URL.
  def start_loge(*args)
    bin = ENV["LOGE_BIN"].to_s
    skip "LOGE_BIN is not set: skipping the tests against the real server (ctest sets it)" if bin.empty?

    @dir = Dir.mktmpdir("loge-it")
    out_r, out_w = IO.pipe
    @pid = Process.spawn(bin, "--port", "0", "--output-path", @dir, *args, out: out_w, err: $stderr)
    out_w.close
    port = Queue.new
    @reader = Thread.new do
      out_r.each_line { |l| (m = l.match(/listening on \S+:(\d+)/)) && port << m[1] }
    end
    Timeout.timeout(30) { "http://127.0.0.1:#{port.pop}" }
  end

  after do
    if @pid
      Process.kill("TERM", @pid)
      Timeout.timeout(30) { Process.wait(@pid) }
      @reader.join
    end
    FileUtils.remove_entry(@dir) if @dir
  end

  def query(base, selector, api_key: nil)
    uri = URI("#{base}/api/v1/query")
    req = Net::HTTP::Post.new(uri, "Content-Type" => "application/json")
    req["Authorization"] = "Bearer #{api_key}" if api_key
    req.body = JSON.generate("query" => selector, "limit" => 5000)
    res = Net::HTTP.start(uri.host, uri.port) { |http| http.request(req) }
    expect(res.code).to eq("200"), "query #{selector}: #{res.code} #{res.body}"
    JSON.parse(res.body).fetch("data")
  end

  it "stores each line with its level label, static labels and timestamp" do
    base = start_loge
    logger = Loge::Logger.new(base, labels: { app: "ruby_it", env: "test" }, batch_size: 50, progname: "it")
    before = Process.clock_gettime(Process::CLOCK_REALTIME, :nanosecond)
    logger.error(msg: "payment failed", order: "A-17", card: { brand: "visa" })
    120.times { |i| logger.with(request_id: "r-1").info(msg: "served", n: i) }
    logger.debug { "cache miss" }
    after = Process.clock_gettime(Process::CLOCK_REALTIME, :nanosecond)
    expect(logger.close(timeout: 30)).to be(true)
    expect(logger.stats).to include(sent: 122, dropped: 0, failed: 0)

    rows = query(base, '{app="ruby_it", level="error"}')
    expect(rows.size).to eq(1)
    expect(Integer(rows[0]["timestamp"])).to be_between(before, after)
    expect(JSON.parse(rows[0]["line"])).to eq("msg" => "payment failed", "progname" => "it", "order" => "A-17",
                                             "card" => { "brand" => "visa" })
    expect(rows[0]["labels"]).to eq("app" => "ruby_it", "env" => "test", "level" => "error")
    info = query(base, '{app="ruby_it", level="info"}')
    expect(info.size).to eq(120)
    expect(JSON.parse(info[0]["line"])).to include("request_id" => "r-1", "msg" => "served")
    expect(query(base, '{app="ruby_it", level="debug"}').map { |r| JSON.parse(r["line"])["msg"] }).to eq(["cache miss"])
  end

  it "pushes with the API key to a server that requires one for reads" do
    base = start_loge("--api-key", "k3y")
    logger = Loge::Logger.new(base, labels: { app: "ruby_auth" }, api_key: "k3y")
    logger.warn("with key")
    expect(logger.close(timeout: 30)).to be(true)
    rows = query(base, '{app="ruby_auth"}', api_key: "k3y")
    expect(rows.map { |r| r["labels"]["level"] }).to eq(%w[warn])
  end
end
