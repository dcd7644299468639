// Certificates and keys for the credential tests, made once with OpenSSL 3.0 (commands
// below) and kept here so the tests need no tool and never expire (valid for 100 years).
// Test material only: these private keys protect nothing.
//
//   openssl ecparam -name prime256v1 -genkey -noout -out ca.key
//   openssl req -x509 -new -key ca.key -sha256 -days 36500 -subj "/C=CH/O=Example/CN=Example CA"
//       -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
//   openssl genrsa -traditional -out a.key 2048          # alice: RSA, PKCS#1
//   openssl ecparam -name prime256v1 -genkey -noout -out b.key   # bob: ECDSA, SEC1
//   openssl req -new -key X.key -subj "/C=CH/O=Example/CN=alice|bob" | openssl x509 -req -CA ca.pem
//       -CAkey ca.key -set_serial 0x0a|0x0b -days 36500 -sha256
//       -extfile <(basicConstraints=CA:FALSE, subjectAltName=DNS:a.example)
//   openssl req -x509 -new -key m.key -utf8 -multivalue-rdn -days 36500
//       -subj "/C=CH/O=Example+OU=Lab/CN=Zoë Müller, Jr./emailAddress=zoe@example.org"
//   openssl pkcs8 -topk8 -nocrypt -in a.key|b.key          # the PKCS#8 forms
//   openssl pkcs8 -topk8 -in b.key -passout pass:secret    # encrypted PKCS#8
//   openssl ec -in b.key -aes128 -passout pass:secret      # encrypted SEC1 (Proc-Type)
#pragma once

namespace pn_unit::fixtures {

inline constexpr const char* kCaCert = R"(-----BEGIN CERTIFICATE-----
MIIB0DCCAXWgAwIBAgIUecuXllQgpL+zv8KzfDd9S5HHL78wCgYIKoZIzj0EAwIw
NDELMAkGA1UEBhMCQ0gxEDAOBgNVBAoMB0V4YW1wbGUxEzARBgNVBAMMCkV4YW1w
bGUgQ0EwIBcNMjYxMjAyMDEzMDI4WhgPMjEyNjExMDgwMTMwMjhaMDQxCzAJBgNV
BAYTAkNIMRAwDgYDVQQKDAdFeGFtcGxlMRMwEQYDVQQDDApFeGFtcGxlIENBMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgVrgCtThgVSfzjp6/hmyPfQM4xtkS/uS
mkk11mhF3Nm4bOr2yg36sPm6VGURe2zQtZ3u7sRjYih5JcRs9GDy6qNjMGEwHQYD
VR0OBBYEFGuzN77ELcvuZGfxHLeIUzMGqLalMB8GA1UdIwQYMBaAFGuzN77ELcvu
ZGfxHLeIUzMGqLalMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoG
CCqGSM49BAMCA0kAMEYCIQCtOsLpfuTcL9hVjB3+Q3r4NuOwnS3zrNacC/XzFCLp
wwIhAN6HG18Oho2ZScVGVJFOcG504dGZCSRvjSMYSrNwlStl
-----END CERTIFICATE-----)";

inline constexpr const char* kAliceCert = R"(-----BEGIN CERTIFICATE-----
MIICgTCCAiigAwIBAgIBCjAKBggqhkjOPQQDAjA0MQswCQYDVQQGEwJDSDEQMA4G
A1UECgwHRXhhbXBsZTETMBEGA1UEAwwKRXhhbXBsZSBDQTAgFw0yNjEyMDIwMTMw
MjhaGA8yMTI2MTEwODAxMzAyOFowLzELMAkGA1UEBhMCQ0gxEDAOBgNVBAoMB0V4
YW1wbGUxDjAMBgNVBAMMBWFsaWNlMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIB
CgKCAQEAvcEFBaJ8qOueF8fvEFPoPY72lYWhJcBHOUxbaNRsGNAA23nkY7MPPWXy
s1OkccpDO7uS6cy0T8rVL1TlXlLqV+nRXaKA/P48uIFoQeaOgbAiIrZ8mG7p5z+v
I82kfWuNDs4cPWuMsOsNlOYagn0J4h0dE9d2/O6bBY5eHoNWZqmuHNIx1lTZ+iry
0bWuNy8yDJsmMimy7ii/NRhoYXtmXQYzR7u3qiY4fQzL9a/ikipEIH+9RQJk0XFA
kCQGQPmjF7SURgsATUoxp3nmCp4qTI5NnJ0eX6eNbJSPuAQ8bIAX0gfygGwU/Ux3
KxfwmApFOoDbwlAVLEm+KhwhJdtc+wIDAQABo2MwYTAJBgNVHRMEAjAAMBQGA1Ud
EQQNMAuCCWEuZXhhbXBsZTAdBgNVHQ4EFgQUNnyGk6Qejb4kAuTcTxG7okIEvO0w
HwYDVR0jBBgwFoAUa7M3vsQty+5kZ/Ect4hTMwaotqUwCgYIKoZIzj0EAwIDRwAw
RAIgcgF94034ky4MMSGrAp80jl4wQkFlsm8gcs8EQVqCNSQCIBSf9NBCa4joRB6x
B+KwvO2HjfA/VgaUI4v/czNco2i4
-----END CERTIFICATE-----)";

inline constexpr const char* kAliceRsaKey = R"(-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAvcEFBaJ8qOueF8fvEFPoPY72lYWhJcBHOUxbaNRsGNAA23nk
Y7MPPWXys1OkccpDO7uS6cy0T8rVL1TlXlLqV+nRXaKA/P48uIFoQeaOgbAiIrZ8
mG7p5z+vI82kfWuNDs4cPWuMsOsNlOYagn0J4h0dE9d2/O6bBY5eHoNWZqmuHNIx
1lTZ+iry0bWuNy8yDJsmMimy7ii/NRhoYXtmXQYzR7u3qiY4fQzL9a/ikipEIH+9
RQJk0XFAkCQGQPmjF7SURgsATUoxp3nmCp4qTI5NnJ0eX6eNbJSPuAQ8bIAX0gfy
gGwU/Ux3KxfwmApFOoDbwlAVLEm+KhwhJdtc+wIDAQABAoIBAAuJ9wJQz1AKxMCn
qO5IwL9eXlKMX3BnJ2c6ffdVFF4gs/sLIZ89QciwvOTSMGNQP4acqvWEIojho27v
Gv2bGpYONjjOWEkXASrevHzMoBwOnmmW+3x3h8pgsVSCvYurV4oWPY0vz5mCMBkl
MjWyLdot5Ax5vOO3pmSpmig0qDN/TjQsSZuuV8Kndn6iDkGHr8yjdlhNiP/R4+Bz
YxNgdTSKYLecUEDHKN1TVnCcaeIztB+WujabyJu5abG7xWeCqTHvskgu9PbGMhTY
1LbOr7fHEiCPFtSMJt7M5HaFfBnvfVxJ37SV3nD02pAnvZkDFcjk/yWSQ+RDt91f
/I6fSrkCgYEA3wi8PjT/viCLqMLY1xl3WqtQbm0Wy90wNdP86KjF78+nYrhOaUsy
OBr0ESch9hDleSb40ZB+v9TKwUfU2wpPoX1QgGWqKXGhBvwrU31jNzMl61K8SYav
5//tMj9WQ2lj1LXjSC4aElgJM2kAWzNEPzU/fG1LqSwnE43MPfQlPtMCgYEA2c0D
+STIKMs5taxKB4tpTEm+0bXoswm4Ij7lyhirQC7ULTwAal2T4eDhEkYjpUdsyoGb
nhEubytf1HTdmNVkxbQAnQPuMbLd+LkPH2FgU7MjYz5pOyJ68zK3GVDocFyItKr4
TEAeFIb5y/AkiV2CcOKMwDIarPXm5996/OGyIDkCgYAijW7kUD+ii9Y3EeCYCkj0
UgAG632RnbW/URUoUiVADrKG17jGFTE1ge93zNE1Fs8GIuR/StxoCaZTpTYzrPhD
M2/KRHXFL+Zbd6uapp09Sv4/47Rpy6Tq0zpDA47wqJ4fsQICB6pgVyUtwsGcX2fe
RviL5T7IeZ+gJuKSYoV2owKBgQC+KtmbQdhadgcvbv08VSddas5nwNMq8AOMMyrk
KGHuKnUsAcXDGW2zvWwHTqJ0/0YoEr5TZ2EJw+9qS5foh/ny/VXDwtjJIAnbz4k6
twUqT7FISAgNj++WROPGAPTSlpjuVpFx0lHxTmDxBf6AydrIwaZvcdAE0LgKIQD7
p/ylUQKBgEUzNjHYx9Mu8/d2GA64SXASCbmeXrHQClVHFGHdiD76RcW9L/0Ms1J3
fUkoXmfruXxBLh57CVbT5q7DytHjNZViGC3eR3Dcfmht0M+MJbyX2ips8wqSlbjP
ejuNSCWhc46xF0fF4EhbnAYXpRYicWaGJnC1J4qRjdM/RYjajkxE
-----END RSA PRIVATE KEY-----)";

inline constexpr const char* kAliceRsaPkcs8 = R"(-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC9wQUFonyo654X
x+8QU+g9jvaVhaElwEc5TFto1GwY0ADbeeRjsw89ZfKzU6RxykM7u5LpzLRPytUv
VOVeUupX6dFdooD8/jy4gWhB5o6BsCIitnyYbunnP68jzaR9a40Ozhw9a4yw6w2U
5hqCfQniHR0T13b87psFjl4eg1Zmqa4c0jHWVNn6KvLRta43LzIMmyYyKbLuKL81
GGhhe2ZdBjNHu7eqJjh9DMv1r+KSKkQgf71FAmTRcUCQJAZA+aMXtJRGCwBNSjGn
eeYKnipMjk2cnR5fp41slI+4BDxsgBfSB/KAbBT9THcrF/CYCkU6gNvCUBUsSb4q
HCEl21z7AgMBAAECggEAC4n3AlDPUArEwKeo7kjAv15eUoxfcGcnZzp991UUXiCz
+wshnz1ByLC85NIwY1A/hpyq9YQiiOGjbu8a/Zsalg42OM5YSRcBKt68fMygHA6e
aZb7fHeHymCxVIK9i6tXihY9jS/PmYIwGSUyNbIt2i3kDHm847emZKmaKDSoM39O
NCxJm65Xwqd2fqIOQYevzKN2WE2I/9Hj4HNjE2B1NIpgt5xQQMco3VNWcJxp4jO0
H5a6NpvIm7lpsbvFZ4KpMe+ySC709sYyFNjUts6vt8cSII8W1Iwm3szkdoV8Ge99
XEnftJXecPTakCe9mQMVyOT/JZJD5EO33V/8jp9KuQKBgQDfCLw+NP++IIuowtjX
GXdaq1BubRbL3TA10/zoqMXvz6diuE5pSzI4GvQRJyH2EOV5JvjRkH6/1MrBR9Tb
Ck+hfVCAZaopcaEG/CtTfWM3MyXrUrxJhq/n/+0yP1ZDaWPUteNILhoSWAkzaQBb
M0Q/NT98bUupLCcTjcw99CU+0wKBgQDZzQP5JMgoyzm1rEoHi2lMSb7RteizCbgi
PuXKGKtALtQtPABqXZPh4OESRiOlR2zKgZueES5vK1/UdN2Y1WTFtACdA+4xst34
uQ8fYWBTsyNjPmk7InrzMrcZUOhwXIi0qvhMQB4UhvnL8CSJXYJw4ozAMhqs9ebn
33r84bIgOQKBgCKNbuRQP6KL1jcR4JgKSPRSAAbrfZGdtb9RFShSJUAOsobXuMYV
MTWB73fM0TUWzwYi5H9K3GgJplOlNjOs+EMzb8pEdcUv5lt3q5qmnT1K/j/jtGnL
pOrTOkMDjvConh+xAgIHqmBXJS3CwZxfZ95G+IvlPsh5n6Am4pJihXajAoGBAL4q
2ZtB2Fp2By9u/TxVJ11qzmfA0yrwA4wzKuQoYe4qdSwBxcMZbbO9bAdOonT/RigS
vlNnYQnD72pLl+iH+fL9VcPC2MkgCdvPiTq3BSpPsUhICA2P75ZE48YA9NKWmO5W
kXHSUfFOYPEF/oDJ2sjBpm9x0ATQuAohAPun/KVRAoGARTM2MdjH0y7z93YYDrhJ
cBIJuZ5esdAKVUcUYd2IPvpFxb0v/QyzUnd9SSheZ+u5fEEuHnsJVtPmrsPK0eM1
lWIYLd5HcNx+aG3Qz4wlvJfaKmzzCpKVuM96O41IJaFzjrEXR8XgSFucBhelFiJx
ZoYmcLUnipGN0z9FiNqOTEQ=
-----END PRIVATE KEY-----)";

inline constexpr const char* kBobCert = R"(-----BEGIN CERTIFICATE-----
MIIBtTCCAVugAwIBAgIBCzAKBggqhkjOPQQDAjA0MQswCQYDVQQGEwJDSDEQMA4G
A1UECgwHRXhhbXBsZTETMBEGA1UEAwwKRXhhbXBsZSBDQTAgFw0yNjEyMDIwMTMw
MjhaGA8yMTI2MTEwODAxMzAyOFowLTELMAkGA1UEBhMCQ0gxEDAOBgNVBAoMB0V4
YW1wbGUxDDAKBgNVBAMMA2JvYjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABBkw
1f7WXnOWnBqUOHgKanJ5CU9w8yUeVVkbzjpfrTRRE/J+5AsvFCoApycmjKGSSSlw
tP0fgRTGloU78qMoxXSjYzBhMAkGA1UdEwQCMAAwFAYDVR0RBA0wC4IJYS5leGFt
cGxlMB0GA1UdDgQWBBRp5fbvBRJ9Iyw6+s17MVUeB/C9WTAfBgNVHSMEGDAWgBRr
sze+xC3L7mRn8Ry3iFMzBqi2pTAKBggqhkjOPQQDAgNIADBFAiEApf6FDUS7SQTX
w9zUATQrtgxA9ksgEzsCDeRYxzR15/MCICJds4PALj25shstv9Bmx2Nd07J5D7hA
GkMS95r1+vPt
-----END CERTIFICATE-----)";

inline constexpr const char* kBobEcKey = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIGDdzMi2E5eRNDfhYfANyACVWhfasqnt4cNadoCiDz7IoAoGCCqGSM49
AwEHoUQDQgAEGTDV/tZec5acGpQ4eApqcnkJT3DzJR5VWRvOOl+tNFET8n7kCy8U
KgCnJyaMoZJJKXC0/R+BFMaWhTvyoyjFdA==
-----END EC PRIVATE KEY-----)";

inline constexpr const char* kBobEcPkcs8 = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgYN3MyLYTl5E0N+Fh
8A3IAJVaF9qyqe3hw1p2gKIPPsihRANCAAQZMNX+1l5zlpwalDh4CmpyeQlPcPMl
HlVZG846X600URPyfuQLLxQqAKcnJoyhkkkpcLT9H4EUxpaFO/KjKMV0
-----END PRIVATE KEY-----)";

inline constexpr const char* kBobEncryptedPkcs8 = R"(-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjIqZjlHg0ZZQICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEPyGRjMw3q2iG2uP01Ce0nMEgZCF
JG3unS8kwXunbLQlyqyHbIW7HhqMOuQ6hvw1hP75oiMf7KydIl6xFa8RUO6GuIl9
AM8JYa0J0kFpVxiuAEKS+fqKkPr4bOTLV1F3cwikW0lat72DIQTqZVwj1aEufMqz
ibjYyDRyS6OwJgHyw8PoCNWmRmPFfvj9aLb37vqEXJhF9ShhHl0ZiAQycncuIT0=
-----END ENCRYPTED PRIVATE KEY-----)";

inline constexpr const char* kBobEncryptedSec1 = R"(-----BEGIN EC PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-128-CBC,F43703BB4DDF9CCB0E37391B83C1430C

IPVm/SC3mAy5x5FZjmMYUw1JcqjqXjkXZ+6ylRkwVWSTbomRCKMPDlyyo/1dciR4
HTiX3OGpK8og0JMr3Lfb+DdwltjAV6YtBcaklNi/k2ogcXs9DUc40v3juijxxdn7
Am6Q/1XubnxlHRfWjejc4Er1rz6uEXbLr62bNvnqoI8=
-----END EC PRIVATE KEY-----)";

inline constexpr const char* kMultiValuedCert = R"(-----BEGIN CERTIFICATE-----
MIICJTCCAcugAwIBAgIUbt/iwywwtrRkpZtvOpd+VuwOZkwwCgYIKoZIzj0EAwIw
ZzELMAkGA1UEBhMCQ0gxHDAKBgNVBAsMA0xhYjAOBgNVBAoMB0V4YW1wbGUxGjAY
BgNVBAMMEVpvw6sgTcO8bGxlciwgSnIuMR4wHAYJKoZIhvcNAQkBFg96b2VAZXhh
bXBsZS5vcmcwIBcNMjYxMjAyMDEzMDI4WhgPMjEyNjExMDgwMTMwMjhaMGcxCzAJ
BgNVBAYTAkNIMRwwCgYDVQQLDANMYWIwDgYDVQQKDAdFeGFtcGxlMRowGAYDVQQD
DBFab8OrIE3DvGxsZXIsIEpyLjEeMBwGCSqGSIb3DQEJARYPem9lQGV4YW1wbGUu
b3JnMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsT5jhnbEUuJzq4Mq6P3/r+xr
eAMHx473itb7cJaPMsyOBurXi3MmMW9f+klCraK84cVIJTbunbKcRdeVw1dsXKNT
MFEwHQYDVR0OBBYEFCiO4RYeAeo5KMb9XnOoVzDve73tMB8GA1UdIwQYMBaAFCiO
4RYeAeo5KMb9XnOoVzDve73tMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SAAwRQIgXRWDb7JSmVtfvHAamrOC4gKOwjO9y8iKKpaWdZb7R9gCIQCA2E6XQdSW
K+fZREmdL4LACREM3ff1KcGAmOJ0269DUg==
-----END CERTIFICATE-----)";

}  // namespace pn_unit::fixtures
