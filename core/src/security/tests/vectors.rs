//! Published test vectors, run through the project's own wrappers.

use super::{hex, hex_array};
use crate::NodeId;
use crate::security::e2e::{open_detached, seal_detached};
use crate::security::{Identity, PublicKey, SecurityDrop};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};

/// RFC 8032 §7.1: (secret key, public key, message, signature).
const RFC8032: [(&str, &str, &str, &str); 4] = [
    (
        // TEST 1
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        // TEST 2
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        // TEST 3
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        // TEST SHA(abc): the message is SHA-512("abc")
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
];

#[test]
fn rfc8032_ed25519_vectors_through_identity_and_public_key() {
    for (i, (sk, pk, msg, sig)) in RFC8032.iter().enumerate() {
        let id = Identity::from_seed(&hex_array(sk));
        let pk: [u8; 32] = hex_array(pk);
        let msg = hex(msg);
        let sig: [u8; 64] = hex_array(sig);
        assert_eq!(id.public_key().as_bytes(), &pk, "public key of vector {i}");
        assert_eq!(id.sign(&msg), sig, "signature of vector {i}");
        let public = PublicKey::from_bytes(&pk).unwrap();
        assert_eq!(public.verify(&msg, &sig), Ok(()), "verification of vector {i}");
        let mut bad = sig;
        bad[63] ^= 0x01;
        assert_eq!(public.verify(&msg, &bad), Err(SecurityDrop::BadSignature));
        let mut longer = msg.clone();
        longer.push(0);
        assert_eq!(public.verify(&longer, &sig), Err(SecurityDrop::BadSignature));
    }
}

#[test]
fn rfc8439_aead_vector_through_the_e2e_primitives() {
    // RFC 8439 §2.8.2. The 12-byte nonce 07000000 4041424344454647 is exactly the e2e nonce
    // of origin 0x0700000040414243 and sequence number 0x44454647.
    let key: [u8; 32] = hex_array("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    let aad = hex("50515253c0c1c2c3c4c5c6c7");
    let plaintext: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    let ciphertext =
        hex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b\
         1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc\
         3ff4def08e4b7a9de576d26586cec64b6116");
    let tag: [u8; 16] = hex_array("1ae10b594f09e26a7e902ecbd0600691");
    let cipher = ChaCha20Poly1305::new(&key.into());
    let (origin, seq) = (NodeId(0x0700_0000_4041_4243), 0x4445_4647);

    let mut buffer = plaintext.to_vec();
    assert_eq!(seal_detached(&cipher, origin, seq, &aad, &mut buffer).unwrap(), tag);
    assert_eq!(buffer, ciphertext);

    assert_eq!(open_detached(&cipher, origin, seq, &aad, &mut buffer, &tag), Ok(()));
    assert_eq!(buffer, plaintext);

    let mut tampered = ciphertext.clone();
    tampered[0] ^= 0x80;
    assert_eq!(open_detached(&cipher, origin, seq, &aad, &mut tampered, &tag), Err(SecurityDrop::DecryptFailed));
    let mut copy = ciphertext.clone();
    assert_eq!(open_detached(&cipher, origin, seq + 1, &aad, &mut copy, &tag), Err(SecurityDrop::DecryptFailed));
    assert_eq!(open_detached(&cipher, origin, seq, &aad[1..], &mut copy, &tag), Err(SecurityDrop::DecryptFailed));
    assert_eq!(copy, ciphertext, "a failed decryption leaves the buffer as received");
}
