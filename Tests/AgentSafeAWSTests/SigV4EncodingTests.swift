@testable import AgentSafeAWS
import Testing

@Suite("SigV4 encoding and canonicalisation rules")
struct SigV4EncodingTests {
    @Test("UriEncode: unreserved kept, space is %20, upper-case hex, UTF-8 bytes", arguments: [
        ("AZaz09-_.~", "AZaz09-_.~"),
        ("a b", "a%20b"),
        ("a+b", "a%2Bb"),
        ("a/b", "a%2Fb"),
        ("ሴ", "%E1%88%B4"),
        ("ü", "%C3%BC"),
        ("100%", "100%25"),
        ("*'()!$&=,;:@", "%2A%27%28%29%21%24%26%3D%2C%3B%3A%40"),
        ("😀", "%F0%9F%98%80"),
    ])
    func encode(input: String, expected: String) {
        #expect(AWSPercentEncoding.encode(input) == expected)
    }

    @Test("'/' is kept in S3 keys and paths")
    func slashesKept() {
        #expect(AWSPercentEncoding.encode("photos/Jan/sample 1.jpg", keepingSlashes: true) == "photos/Jan/sample%201.jpg")
        #expect(AWSPercentEncoding.s3ObjectPath(bucket: "b", key: "a/b c") == "/b/a/b%20c")
        #expect(AWSPercentEncoding.s3ObjectPath(bucket: nil, key: "/x") == "/x")
        #expect(AWSPercentEncoding.s3ObjectPath(bucket: "b", key: "") == "/b/")
    }

    @Test("query strings: decoded once, re-encoded, sorted by name then value, empty values kept", arguments: [
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1&a=10", "a=1&a=10&a=2"),
        ("flag", "flag="),
        ("k=", "k="),
        ("a+b=c d", "a%2Bb=c%20d"),
        ("%e1%88%b4=%2f", "%E1%88%B4=%2F"),
        ("bad=%zz&x=%4", "bad=%25zz&x=%254"),
        ("a=1&&b=2", "a=1&b=2"),
        ("Zeta=1&alpha=2", "Zeta=1&alpha=2"),
        ("x=a=b", "x=a%3Db"),
        ("", ""),
    ])
    func query(input: String, expected: String) {
        #expect(SigV4Canonical.query(input[...]) == expected)
    }

    @Test("queryString builds the canonical form")
    func queryStringBuilder() {
        let query = AWSPercentEncoding.queryString([
            (name: "Version", value: "2016-11-15"), (name: "Action", value: "DescribeInstances"),
            (name: "Filter.1.Value.1", value: "a b/c"),
        ])
        #expect(query == "Action=DescribeInstances&Filter.1.Value.1=a%20b%2Fc&Version=2016-11-15")
        #expect(SigV4Canonical.query(query[...]) == query)
    }

    @Test("path normalisation removes dot and empty segments and keeps a trailing slash", arguments: [
        ("/", "/"), ("", "/"), ("//", "/"), ("/./", "/"), ("/example/..", "/"), ("/a/b/../..", "/"),
        ("/a/b/..", "/a"), ("//example//", "/example/"), ("/./example", "/example"), ("/a/./b/", "/a/b/"),
        ("/../../a", "/a"), ("a/b", "/a/b"), ("/a/.../b", "/a/.../b"),
    ])
    func normalize(input: String, expected: String) {
        #expect(SigV4Canonical.uri(path: input[...], normalize: true, encodeTwice: true) == expected)
    }

    @Test("canonical URI encoding: twice for services, as sent for S3")
    func uriModes() {
        #expect(SigV4Canonical.uri(path: "/a b/%41", normalize: false, encodeTwice: true) == "/a%20b/%2541")
        #expect(SigV4Canonical.uri(path: "/a b/%41/%2f", normalize: false, encodeTwice: false) == "/a%20b/%41/%2F")
        #expect(SigV4Canonical.uri(path: "/50%", normalize: false, encodeTwice: false) == "/50%25")
        #expect(SigV4Canonical.uri(path: "/ሴ", normalize: false, encodeTwice: false) == "/%E1%88%B4")
        #expect(SigV4Canonical.uri(path: "//a//", normalize: false, encodeTwice: false) == "//a//")
    }

    @Test("header values: trimmed, runs of whitespace and folded lines become one space", arguments: [
        ("  value1 ", "value1"), ("\"a   b   c\"", "\"a b c\""), ("value1\n  value2\n     value3", "value1 value2 value3"),
        ("a\t\tb", "a b"), ("a\r\n b", "a b"), ("", ""), ("   ", ""), ("VALUE", "VALUE"),
    ])
    func headerValue(input: String, expected: String) {
        #expect(String(decoding: SigV4Canonical.headerValue(input), as: UTF8.self) == expected)
    }

    @Test("duplicate headers are joined with commas in their original order")
    func duplicates() throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "A", secretAccessKey: "S"), region: "r", service: "svc")
        let request = SigV4Request(
            method: "GET", path: "/", host: "h",
            headers: [SigV4Header("My-Header", " b "), SigV4Header("my-header", "a"), SigV4Header("MY-HEADER", "c  d")])
        let canonical = try signer.canonicalRequest(for: request, at: SigV4Timestamp(secondsSince1970: 0))
        #expect(canonical.contains("\nmy-header:b,a,c d\n"))
    }

    @Test("timestamps parse and format in UTC", arguments: [
        ("2015-08-30T12:36:00Z", Int64(1_440_938_160), "20150830T123600Z"),
        ("20130524T000000Z", 1_369_353_600, "20130524T000000Z"),
        ("1970-01-01T00:00:00Z", 0, "19700101T000000Z"),
        ("2000-02-29T23:59:59Z", 951_868_799, "20000229T235959Z"),
        ("2100-03-01T00:00:00Z", 4_107_542_400, "21000301T000000Z"),
    ])
    func timestamps(text: String, seconds: Int64, amzDate: String) throws {
        let time = try #require(SigV4Timestamp(iso8601: text))
        #expect(time.secondsSince1970 == seconds)
        #expect(time.amzDate == amzDate)
        #expect(time.dateStamp == String(amzDate.prefix(8)))
        #expect(SigV4Timestamp(secondsSince1970: seconds).amzDate == amzDate)
    }

    @Test("malformed timestamps are rejected", arguments: [
        "", "2015-08-30", "2015-08-30T12:36:00", "2015-02-29T00:00:00Z", "2015-13-01T00:00:00Z",
        "2015-08-30T24:00:00Z", "2015-08-30T12:36:00.123Z", "2015-08-30 12:36:00Z", "20150830T1236Z",
    ])
    func badTimestamps(text: String) {
        #expect(SigV4Timestamp(iso8601: text) == nil)
    }

    @Test("now() is a plausible current time")
    func now() {
        #expect(SigV4Timestamp.now() > SigV4Timestamp(iso8601: "2024-01-01T00:00:00Z")!)
    }
}
