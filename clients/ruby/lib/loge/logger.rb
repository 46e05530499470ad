# frozen_string_literal: true

require "json"
require "logger"
require "loge/client"

module Loge
  # Logger is a ::Logger that ships each entry to loge as one JSON line:
  #
  #   {"msg":"…","progname":"…","source":{…},"tags":[…],<attributes>}
  #
  # The entry's time travels beside the line as its timestamp (unix ns) and
  # its severity as the "level" stream label (debug, info, warn, error,
  # fatal, unknown). Batching, the bounded buffer and retries are the
  # Client's; the calling thread only renders the line and queues it.
  #
  #   logger = Loge::Logger.new("http://localhost:3000", labels: { app: "shop" })
  #   logger.info("user signed in")
  #   logger.info(msg: "order placed", order_id: 17, total: 12.5)
  #   logger.with(request_id: "r-1").warn { "slow query" }
  #   logger.close
  #
  # Thread-safe; loggers made by #with share the first one's client.
  class Logger < ::Logger
    LEVEL_LABELS = %w[debug info warn error fatal unknown].freeze
    # Frames from these files are the logging machinery, not the caller.
    INTERNAL_FRAMES = %r{/logger\.rb\z|/loge/[^/]+\.rb\z|/active_support/|/lib/ruby/[^/]+/monitor\.rb\z}.freeze
    # Backtrace lines kept for an exception.
    BACKTRACE_LINES = 20

    attr_reader :client, :attributes

    # endpoint: loge's base URL. labels: static stream labels. attributes:
    # added to every line. add_source: add {"file","line","function"} of the
    # call site (costs a caller_locations per line). level, progname: as
    # ::Logger. client: share an existing Client (endpoint is then ignored).
    # Other keywords go to Client (api_key, batch_size, batch_interval,
    # buffer_size, buffer_bytes, max_retries, min_backoff, max_backoff,
    # max_line_bytes, open_timeout, read_timeout, on_error).
    def initialize(endpoint = nil, labels: {}, attributes: {}, add_source: false, level: ::Logger::DEBUG,
                   progname: nil, client: nil, **client_options)
      super(nil, level: level, progname: progname)
      @client = client || Client.new(endpoint, labels: labels, **client_options)
      @attributes = stringify(attributes).freeze
      @add_source = add_source
    end

    # A logger for the same client whose lines also carry attrs.
    def with(**attrs)
      child = self.class.new(client: @client, attributes: @attributes.merge(stringify(attrs)),
                             add_source: @add_source, level: level, progname: progname)
      child.formatter = formatter
      child
    end

    # As ::Logger#add. message may be a String, an Exception (its class and
    # backtrace become an "exception" attribute), a Hash (its "msg" or
    # "message" key is the message, the rest are attributes) or any object
    # (its #inspect). Returns true, like ::Logger, even when the line is
    # dropped: see #stats.
    def add(severity, message = nil, progname = nil)
      severity ||= ::Logger::UNKNOWN
      return true if severity < level

      progname = @progname if progname.nil?
      if message.nil?
        if block_given?
          message = yield
        else
          message = progname
          progname = @progname
        end
      end
      @client.push(now_ns, level_label(severity), render(message, progname))
      true
    end
    alias log add

    # Raw text, as ::Logger#<< writes it: an "unknown" line.
    def <<(msg)
      @client.push(now_ns, "unknown", render(msg.to_s.chomp, nil))
      self
    end

    # See Client#flush. Returns true if everything logged before was delivered.
    def flush(timeout: nil)
      @client.flush(timeout: timeout)
    end

    # See Client#close: delivers what is buffered, then stops the worker.
    def close(timeout: nil)
      @client.close(timeout: timeout)
    end

    def stats
      @client.stats
    end

    # ::Logger#reopen reopens a file; there is none here.
    def reopen(_logdev = nil)
      self
    end

    private

    def now_ns
      Process.clock_gettime(Process::CLOCK_REALTIME, :nanosecond)
    end

    def level_label(severity)
      LEVEL_LABELS[severity] || LEVEL_LABELS.last
    end

    def render(message, progname)
      line = {}
      attrs = {}
      case message
      when ::String
        line["msg"] = message
      when ::Exception
        line["msg"] = "#{message.message} (#{message.class})"
        attrs["exception"] = exception_hash(message)
      when ::Hash
        msg = stringify(message)
        line["msg"] = (msg.delete("msg") || msg.delete("message")).to_s
        attrs = msg
      else
        line["msg"] = message.inspect
      end
      line["progname"] = progname.to_s unless progname.nil?
      if @add_source && (loc = caller_site)
        line["source"] = { "file" => loc.absolute_path || loc.path, "line" => loc.lineno, "function" => loc.label }
      end
      tags = current_tags
      line["tags"] = tags unless tags.empty?
      line.merge!(@attributes) unless @attributes.empty?
      line.merge!(attrs)
      JSON.generate(jsonable(line))
    end

    # Rails' TaggedLogging keeps tags in its formatter; a Railtie gives this
    # logger that formatter so the tags show here too.
    def current_tags
      f = formatter
      f.respond_to?(:current_tags) ? f.current_tags.map(&:to_s) : []
    end

    def caller_site
      caller_locations(1, 40)&.find { |l| !INTERNAL_FRAMES.match?(l.absolute_path || l.path.to_s) }
    end

    def exception_hash(err)
      { "class" => err.class.name, "message" => err.message,
        "backtrace" => Array(err.backtrace).first(BACKTRACE_LINES) }
    end

    def stringify(hash)
      hash.each_with_object({}) { |(k, v), out| out[k.to_s] = v }
    end

    # Turns any value into what JSON.generate accepts without raising:
    # strings made valid UTF-8, NaN and infinities as strings, times as RFC
    # 3339, exceptions as hashes, other objects by #as_json (Rails) or #to_s.
    def jsonable(value, depth = 0)
      return value.to_s if depth > 16

      case value
      when nil, true, false, ::Integer then value
      when ::Float then value.finite? ? value : value.to_s
      when ::String then utf8(value)
      when ::Symbol then utf8(value.to_s)
      when ::Hash then value.each_with_object({}) { |(k, v), out| out[utf8(k.to_s)] = jsonable(v, depth + 1) }
      when ::Array then value.map { |v| jsonable(v, depth + 1) }
      when ::Time then value.utc.iso8601(9)
      when ::Exception then jsonable(exception_hash(value), depth + 1)
      else
        if value.respond_to?(:as_json)
          converted = value.as_json
          converted.equal?(value) ? utf8(value.to_s) : jsonable(converted, depth + 1)
        else
          utf8(value.to_s)
        end
      end
    end

    def utf8(str)
      return str if str.encoding == Encoding::UTF_8 && str.valid_encoding?

      if str.encoding == Encoding::UTF_8 || str.encoding == Encoding::BINARY || str.encoding == Encoding::US_ASCII
        s = str.dup.force_encoding(Encoding::UTF_8)
        return s.valid_encoding? ? s : s.scrub("\uFFFD")
      end
      str.encode(Encoding::UTF_8, invalid: :replace, undef: :replace, replace: "\uFFFD")
    end
  end
end
