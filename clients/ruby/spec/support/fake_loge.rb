# frozen_string_literal: true

require "json"
require "webrick"

# FakeLoge stands in for loge's push endpoint: a WEBrick server on a free
# loopback port that records each request and answers it with the block
# given to #respond (200 by default). The block may block, e.g. on a Queue,
# to hold a push in flight.
class FakeLoge
  Request = Struct.new(:headers, :body, :raw, :at, keyword_init: true) do
    # [{ts:, line:, labels:}] in the order of the body.
    def records
      body.fetch("streams").flat_map do |s|
        s.fetch("values").map { |ts, line| { ts: ts, line: line, labels: s.fetch("stream") } }
      end
    end
  end

  attr_reader :url

  def initialize
    @mutex = Mutex.new
    @requests = []
    @respond = nil
    started = Queue.new
    @server = WEBrick::HTTPServer.new(BindAddress: "127.0.0.1", Port: 0,
                                      Logger: WEBrick::Log.new(File::NULL), AccessLog: [],
                                      StartCallback: -> { started << true })
    @server.mount_proc("/api/v1/push") { |req, res| serve(req, res) }
    @thread = Thread.new { @server.start }
    # A shutdown before start has begun would be lost, and #stop would hang.
    started.pop
    @url = "http://127.0.0.1:#{@server.config[:Port]}"
  end

  def respond(&block)
    @mutex.synchronize { @respond = block }
  end

  def requests
    @mutex.synchronize { @requests.dup }
  end

  def records
    requests.flat_map(&:records)
  end

  # The "msg" of every record, in arrival order.
  def messages
    records.map { |r| JSON.parse(r[:line])["msg"] }
  end

  def stop
    @server.shutdown
    @thread.join
  end

  private

  def serve(req, res)
    raise "unexpected #{req.request_method}" unless req.request_method == "POST"

    headers = req.header.transform_values { |v| v.join(", ") }
    request = Request.new(headers: headers, body: JSON.parse(req.body), raw: req.body,
                          at: Process.clock_gettime(Process::CLOCK_MONOTONIC))
    respond = @mutex.synchronize do
      @requests << request
      [@respond, @requests.size - 1]
    end
    res.status = 200
    respond[0]&.call(respond[1], res)
  end
end
