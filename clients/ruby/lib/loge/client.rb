# frozen_string_literal: true

require "json"
require "net/http"
require "time"
require "uri"

module Loge
  # Client batches log lines and pushes them to loge's /api/v1/push.
  #
  # Threads: #push runs on the application's threads and only appends to the
  # queue under @mutex, dropping the oldest line when the queue is full, so it
  # never waits for the network. One worker thread, started lazily (and again
  # in a forked child), takes batches from the queue and does all HTTP
  # without holding @mutex. It wakes on @wake when a batch's worth is queued,
  # a flush or close is asked for, or the oldest line has waited
  # batch_interval. Waiters in #flush sleep on @settled until the lines they
  # wait for have left the queue and no batch is in flight.
  class Client
    # Defaults, each with its reason.
    DEFAULTS = {
      # ~100-300 KiB of JSON a push: amortises the fsync loge does per push.
      batch_size: 1000,
      # A line reaches loge at most about a second after it was logged.
      batch_interval: 1.0,
      # Ten batches survive a server restart of several seconds.
      buffer_size: 10_000,
      # And at most 16 MiB of queued lines, whatever their length.
      buffer_bytes: 16 << 20,
      # loge's --max-line-size default: a longer line would fail its whole
      # batch with a 400, so it is dropped alone instead.
      max_line_bytes: 256 << 10,
      # About 35 s of retrying a batch with the backoff below: longer than a
      # typical restart.
      max_retries: 8,
      min_backoff: 0.25, # seconds, doubled per retry
      max_backoff: 10.0, # seconds
      open_timeout: 5.0, # seconds to connect
      read_timeout: 10.0 # seconds for an answer; a durable push is one fsync
    }.freeze

    # A server's Retry-After is honoured up to this many seconds.
    MAX_RETRY_AFTER = 60.0

    PUSH_PATH = "/api/v1/push"
    LABEL_NAME = /\A[a-zA-Z_][a-zA-Z0-9_]*\z/.freeze

    # A push answered with a status other than 2xx.
    class PushError < StandardError
      attr_reader :status

      def initialize(status, message)
        @status = status
        super("loge push answered #{status}: #{message}")
      end
    end

    attr_reader :uri, :labels, :options

    # endpoint: the server's base URL ("http://localhost:3000"); the push
    #   path is appended unless already there.
    # labels: static stream labels ({"app" => "web"}); "level" is set per line.
    # api_key: sent as "Authorization: Bearer <api_key>" when given.
    # on_error: called on the worker with each error that gave up a batch.
    # Other keywords: see DEFAULTS.
    def initialize(endpoint, labels: {}, api_key: nil, on_error: nil, **opts)
      unknown = opts.keys - DEFAULTS.keys
      raise ArgumentError, "unknown option(s): #{unknown.join(', ')}" unless unknown.empty?

      @options = DEFAULTS.merge(opts).freeze
      @uri = push_uri(endpoint)
      @labels = {}
      labels.each do |k, v|
        name = k.to_s
        raise ArgumentError, "label name #{name.inspect}: want [a-zA-Z_][a-zA-Z0-9_]*" unless LABEL_NAME.match?(name)

        @labels[name] = v.to_s unless name == "level"
      end
      @labels.freeze
      @api_key = api_key
      @on_error = on_error
      @batch_size = [@options[:batch_size], @options[:buffer_size]].min

      @mutex = Mutex.new
      @wake = ConditionVariable.new # the worker waits here
      @settled = ConditionVariable.new # flushers wait here
      reset_state
    end

    # Queues one line with its timestamp (unix ns) and level label. Returns
    # false if it was dropped: too long, or the client is closed. Never waits
    # for the network.
    def push(ts_ns, level, line)
      if line.bytesize > @options[:max_line_bytes]
        @mutex.synchronize { @stats[:dropped] += 1 }
        return false
      end
      @mutex.synchronize do
        if @closing
          @stats[:dropped] += 1
          return false
        end
        ensure_worker_locked
        @first_at = monotonic if @queue.empty?
        @queue << [ts_ns, level, line]
        @queued_bytes += line.bytesize
        @enqueued += 1
        while !@queue.empty? && (@queue.size > @options[:buffer_size] || @queued_bytes > @options[:buffer_bytes])
          @queued_bytes -= @queue.shift[2].bytesize
          @dequeued += 1
          @stats[:dropped] += 1
        end
        # The worker sleeps without a deadline while the queue is empty: wake
        # it to start the first line's batch_interval, and for a full batch.
        @wake.signal if @queue.size == 1 || @queue.size >= @batch_size
      end
      true
    end

    # Pushes everything queued before the call and waits until it is
    # delivered or given up, at most timeout seconds (nil: no limit).
    # Returns true if it all was delivered; false on timeout, or if a batch
    # was given up meanwhile (see #last_error and #stats).
    def flush(timeout: nil)
      deadline = timeout && monotonic + timeout
      @mutex.synchronize do
        return true if @worker.nil? && @queue.empty?

        ensure_worker_locked unless @closing
        target = @enqueued
        failed_before = @failed_batches
        @flush_target = [@flush_target, target].max
        @wake.signal
        until @dequeued >= target && @in_flight.nil?
          return false if @worker.nil? || !@worker.alive?

          left = deadline && deadline - monotonic
          return false if left && left <= 0

          @settled.wait(@mutex, left)
        end
        @failed_batches == failed_before
      end
    end

    # Flushes like #flush, then stops the worker. If the timeout ends first,
    # the push under way is abandoned and what is left is counted as dropped.
    # Later lines are dropped. Returns true if everything was delivered.
    def close(timeout: nil)
      deadline = timeout && monotonic + timeout
      worker = @mutex.synchronize do
        @closing = true
        @wake.signal
        @worker
      end
      if worker
        left = deadline && [deadline - monotonic, 0].max
        unless worker.join(left)
          @mutex.synchronize do
            @abort = true
            @wake.signal
          end
          # The worker notices @abort between attempts; a request under way is
          # bounded by read_timeout, but Close should not wait for it.
          worker.kill unless worker.join(0.2)
          worker.join
        end
      end
      @mutex.synchronize do
        left = @queue.size + (@in_flight ? @in_flight.size : 0)
        @stats[:dropped] += left
        @dequeued += @queue.size
        @queue.clear
        @queued_bytes = 0
        @in_flight = nil
        @worker = nil
        @settled.broadcast
        left.zero? && @failed_batches.zero?
      end
    end

    def closed?
      @mutex.synchronize { @closing }
    end

    # {sent:, dropped:, failed:, retries:, pending:}: lines accepted by the
    # server; dropped from a full buffer, too long, after close or left at a
    # timed-out close; in batches given up (4xx or out of retries); push
    # attempts repeated; queued or in flight now.
    def stats
      @mutex.synchronize do
        @stats.merge(pending: @queue.size + (@in_flight ? @in_flight.size : 0))
      end
    end

    # The last error that gave up a batch, or nil.
    def last_error
      @mutex.synchronize { @last_error }
    end

    private

    def reset_state
      @queue = [] # [ts_ns, level, line], oldest first
      @queued_bytes = 0
      @enqueued = 0 # lines ever queued
      @dequeued = 0 # lines ever taken from the queue: batched or dropped
      @flush_target = 0 # the worker pushes partial batches until @dequeued reaches it
      @first_at = nil # monotonic time the oldest queued line arrived
      @in_flight = nil # the batch being pushed
      @closing = false
      @abort = false
      @failed_batches = 0
      @last_error = nil
      @stats = { sent: 0, dropped: 0, failed: 0, retries: 0 }
      @worker = nil
      @pid = Process.pid
    end

    # Starts the worker on first use, and again in a forked child, where the
    # parent's thread does not exist (the child starts with an empty queue:
    # the parent still owns and sends its own lines).
    def ensure_worker_locked
      reset_state if @pid != Process.pid
      return if @worker&.alive?

      @worker = Thread.new { run }
      @worker.name = "loge-client" if @worker.respond_to?(:name=)
      @worker.report_on_exception = false
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    def run
      http = nil
      loop do
        batch = next_batch
        break if batch.nil?

        http, finished = deliver(batch, http)
        break unless finished # aborted by close: the batch stays to be counted

        @mutex.synchronize do
          @in_flight = nil
          @settled.broadcast
        end
      end
    ensure
      begin
        http&.finish if http&.started?
      rescue StandardError
        nil
      end
      @mutex.synchronize { @settled.broadcast }
    end

    # Waits until a batch is due and takes it (or returns the batch kept in
    # flight); nil when the worker should stop.
    def next_batch
      @mutex.synchronize do
        loop do
          return nil if @abort
          return @in_flight if @in_flight

          n = @queue.size
          due = n >= @batch_size ||
                (n.positive? && (@closing || @dequeued < @flush_target ||
                                 monotonic - @first_at >= @options[:batch_interval]))
          if due
            @in_flight = @queue.shift(@batch_size)
            @in_flight.each { |e| @queued_bytes -= e[2].bytesize }
            @dequeued += @in_flight.size
            @first_at = monotonic unless @queue.empty?
            return @in_flight
          end
          return nil if @closing && n.zero?

          @settled.broadcast
          wait = n.positive? ? @options[:batch_interval] - (monotonic - @first_at) : nil
          @wake.wait(@mutex, wait)
        end
      end
    end

    # Pushes batch, retrying 429, 5xx and network errors. Returns the
    # connection to reuse and whether the batch is finished (sent or given
    # up) rather than abandoned because close timed out.
    def deliver(batch, http)
      body = encode(batch)
      attempt = 0
      loop do
        status = nil
        begin
          http ||= connect
          status, retry_after, message = post(http, body)
        rescue StandardError => e
          http = close_quietly(http)
          message = "#{e.class}: #{e.message}"
        end
        if status && status.between?(200, 299)
          @mutex.synchronize { @stats[:sent] += batch.size }
          return [http, true]
        end
        retriable = status.nil? || status == 429 || status >= 500
        if !retriable || attempt >= @options[:max_retries]
          give_up(batch, status ? PushError.new(status, message) : IOError.new(message), attempt + 1)
          return [http, true]
        end
        wait = retry_after || backoff(attempt)
        attempt += 1
        @mutex.synchronize do
          @stats[:retries] += 1
          deadline = monotonic + wait
          until @abort || (left = deadline - monotonic) <= 0
            @wake.wait(@mutex, left)
          end
          return [http, false] if @abort
        end
      end
    end

    def give_up(batch, error, attempts)
      @mutex.synchronize do
        @stats[:failed] += batch.size
        @failed_batches += 1
        @last_error = error
      end
      return unless @on_error

      begin
        @on_error.call(error.exception("gave up a batch of #{batch.size} lines after #{attempts} attempts: #{error.message}"))
      rescue StandardError
        nil
      end
    end

    def backoff(attempt)
      d = [@options[:min_backoff] * (2**attempt), @options[:max_backoff]].min
      d / 2 + rand * d / 2
    end

    def connect
      http = Net::HTTP.new(@uri.host, @uri.port)
      http.use_ssl = @uri.scheme == "https"
      http.open_timeout = @options[:open_timeout]
      http.read_timeout = @options[:read_timeout]
      http.write_timeout = @options[:read_timeout] if http.respond_to?(:write_timeout=)
      http.keep_alive_timeout = 30
      http.start
    end

    def close_quietly(http)
      http&.finish if http&.started?
      nil
    rescue StandardError
      nil
    end

    # Returns [status, retry_after seconds or nil, error message].
    def post(http, body)
      req = Net::HTTP::Post.new(@uri.request_uri)
      req["Content-Type"] = "application/json"
      req["User-Agent"] = "loge-ruby/#{Loge::VERSION}"
      req["Authorization"] = "Bearer #{@api_key}" if @api_key && !@api_key.empty?
      req.body = body
      res = http.request(req)
      status = res.code.to_i
      return [status, nil, nil] if status.between?(200, 299)

      [status, self.class.parse_retry_after(res["Retry-After"]), error_message(res.body.to_s)]
    end

    # Seconds from a Retry-After header (seconds or an HTTP date), capped at
    # MAX_RETRY_AFTER; nil when absent or unreadable.
    def self.parse_retry_after(value)
      return nil if value.nil? || value.strip.empty?

      secs = if value.strip.match?(/\A-?\d+\z/)
               value.to_i
             else
               begin
                 Time.httpdate(value.strip) - Time.now
               rescue ArgumentError
                 return nil
               end
             end
      secs.clamp(0, MAX_RETRY_AFTER).to_f
    end

    def error_message(body)
      parsed = JSON.parse(body)
      parsed.is_a?(Hash) && parsed["error"] ? parsed["error"].to_s : body[0, 200]
    rescue JSON::ParserError
      body[0, 200]
    end

    # One stream per level, lines in queued order within each.
    def encode(batch)
      streams = {}
      batch.each do |ts, level, line|
        (streams[level] ||= []) << [ts.to_s, line]
      end
      JSON.generate(
        "streams" => streams.map do |level, values|
          { "stream" => @labels.merge("level" => level), "values" => values }
        end
      )
    end

    def push_uri(endpoint)
      uri = URI.parse(endpoint.to_s)
      unless uri.is_a?(URI::HTTP) && uri.host && !uri.host.empty?
        raise ArgumentError, "endpoint #{endpoint.inspect}: want http(s)://host[:port]"
      end

      path = uri.path.to_s.chomp("/")
      uri.path = path.end_with?(PUSH_PATH) ? path : path + PUSH_PATH
      uri
    rescue URI::InvalidURIError
      raise ArgumentError, "endpoint #{endpoint.inspect}: want http(s)://host[:port]"
    end
  end
end
