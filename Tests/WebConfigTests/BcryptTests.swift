import Foundation
import Testing
@testable import WebConfig

@Suite("bcrypt")
struct BcryptTests {
    @Test func htpasswdHashesVerify() {
        #expect(Bcrypt.verify(Array("correct horse".utf8), against: WebConfigurationParsingTests.aliceHash))
        #expect(!Bcrypt.verify(Array("correct horsf".utf8), against: WebConfigurationParsingTests.aliceHash))
        // $2y$, cost 4, from htpasswd -nbBC 4
        #expect(Bcrypt.verify(Array("battery staple".utf8), against: "$2y$04$FHZcHv/h0mrBhtyDvoQEauGHR09HXcOgC7BdF56eq2SkHtIVev8na"))
    }

    @Test func ownHashesRoundTrip() throws {
        let hash = try #require(Bcrypt.hash("s3cret", cost: 4))
        #expect(Bcrypt.problem(withHash: hash) == nil)
        #expect(Bcrypt.verify(Array("s3cret".utf8), against: hash))
    }

    @Test func aNULOrAnOverlongPasswordNeverMatches() throws {
        let hash = try #require(Bcrypt.hash("pass", cost: 4))
        #expect(!Bcrypt.verify(Array("pass".utf8) + [0] + Array("extra".utf8), against: hash))
        let long = String(repeating: "p", count: 72)
        let longHash = try #require(Bcrypt.hash(long, cost: 4))
        #expect(Bcrypt.verify(Array(long.utf8), against: longHash))
        // bcrypt would ignore byte 73 on: refuse rather than accept a different password.
        #expect(!Bcrypt.verify(Array((long + "X").utf8), against: longHash))
    }

    @Test(arguments: ["", "$2y$10$", "$1$abcdefgh$abcdefghijklmnopqrstuv", "$2y$99$" + String(repeating: "a", count: 53),
                      "$2x$10$" + String(repeating: "a", count: 53), "$2y$10$" + String(repeating: "!", count: 53)])
    func malformedHashesAreNamed(hash: String) {
        #expect(Bcrypt.problem(withHash: hash) != nil)
        #expect(!Bcrypt.verify(Array("x".utf8), against: hash))
    }
}
